PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format check-config bench bench-scan bench-load bench-routing bench-desk browser clean vendor-map

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

.venv: $(BIN)/activate

run: .venv
	$(BIN)/python run_bot.py serve

check-config: .venv
	$(BIN)/python run_bot.py check-config

lint: .venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Debian's Chromium for the browser tests of the try-it console (Playwright drives
# it by path; no browser is downloaded). Installs with apt-get when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-color-emoji >/dev/null; }

test: .venv browser lint
	$(BIN)/python -m pytest -q

# Benchmarks (several minutes; not part of `make test`); README section "Performance".
bench: bench-routing bench-scan bench-load bench-desk

# Category suggestions on real complaints from public sources (tests/data/routing/):
# top-1, top-3, no suggestion and wrong first, on the held-out part (exit 1: a target missed).
bench-routing: .venv
	$(BIN)/python bench/routing.py

# The deadline scan with 1,000,000 closed tickets.
bench-scan: .venv
	$(BIN)/python bench/deadline_scan.py

# The web desk at 1,000,000 tickets: list, search, ticket page, overview, map and the
# exports, timed on the server (exit 1: a target missed). BENCH_DESK_ARGS passes options,
# e.g. BENCH_DESK_ARGS="--tickets 100000".
bench-desk: .venv
	$(BIN)/python bench/desk.py $(BENCH_DESK_ARGS)

# A real serve on loopback: webhooks against /healthz under 8 concurrent clients, the
# outbox drain, resident memory, the scan at 10k/100k/1M tickets (exit 1: a target missed);
# as shipped (with its delivery process), then in one process (ICETA_DELIVERY_PROCESS=0).
# Both always run.
bench-load: .venv
	status=0; \
	$(BIN)/python bench/load.py || status=1; \
	$(BIN)/python bench/load.py --one-process --scan-sizes "" || status=1; \
	exit $$status

format: .venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Leaflet and Leaflet.markercluster for the desk's map, from their npm packages. The files
# are committed in handlers/static/vendor/ (served from our own host, no CDN); this target
# fetches the versions below again and copies them in.
LEAFLET_VERSION := 1.9.4
MARKERCLUSTER_VERSION := 1.5.3
vendor-map:
	rm -rf $(VENV)/npm-vendor && mkdir -p $(VENV)/npm-vendor
	cd $(VENV)/npm-vendor && npm pack --silent leaflet@$(LEAFLET_VERSION) \
		leaflet.markercluster@$(MARKERCLUSTER_VERSION) && \
		for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	rm -rf handlers/static/vendor/leaflet handlers/static/vendor/markercluster
	mkdir -p handlers/static/vendor/leaflet handlers/static/vendor/markercluster
	cp -r $(VENV)/npm-vendor/leaflet-$(LEAFLET_VERSION)/package/dist/leaflet.js \
		$(VENV)/npm-vendor/leaflet-$(LEAFLET_VERSION)/package/dist/leaflet.css \
		$(VENV)/npm-vendor/leaflet-$(LEAFLET_VERSION)/package/dist/images \
		$(VENV)/npm-vendor/leaflet-$(LEAFLET_VERSION)/package/LICENSE \
		handlers/static/vendor/leaflet/
	cp $(VENV)/npm-vendor/leaflet.markercluster-$(MARKERCLUSTER_VERSION)/package/dist/leaflet.markercluster.js \
		$(VENV)/npm-vendor/leaflet.markercluster-$(MARKERCLUSTER_VERSION)/package/dist/MarkerCluster.css \
		$(VENV)/npm-vendor/leaflet.markercluster-$(MARKERCLUSTER_VERSION)/package/dist/MarkerCluster.Default.css \
		$(VENV)/npm-vendor/leaflet.markercluster-$(MARKERCLUSTER_VERSION)/package/MIT-LICENCE.txt \
		handlers/static/vendor/markercluster/
