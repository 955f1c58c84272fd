"""config.yaml: the shipped file, the defaults, and one clear line per mistake."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Config, ConfigError, load_config, parse_config
from tests.harness import TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config.yaml"
HAS_CLI = (ROOT / "run_bot.py").exists()

REQUIRED_AGENCIES = {
    "pupr": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "dinkes": "Dinas Kesehatan",
    "dlh": "Dinas Lingkungan Hidup",
    "dishub": "Dinas Perhubungan",
    "disdukcapil": "Dinas Kependudukan dan Pencatatan Sipil",
    "dinsos": "Dinas Sosial",
    "bpbd": "Badan Penanggulangan Bencana Daerah",
    "satpolpp": "Satuan Polisi Pamong Praja",
    "disdik": "Dinas Pendidikan",
    "pdam": "Perumdam Tirta Darma Ayu",
    "diskominfo": "Dinas Komunikasi dan Informatika",
    "disperkim": "Dinas Perumahan dan Kawasan Permukiman",
    "disnaker": "Dinas Tenaga Kerja",
    "distan": "Dinas Pertanian",
    "diskanla": "Dinas Perikanan dan Kelautan",
    "damkar": "Dinas Pemadam Kebakaran",
    "rsud": "RSUD Indramayu",
}

# The config.yaml example of docs/contract.md §7, verbatim.
PRODUCT_EXAMPLE = """\
service:
  name: I-Ceta
  ticket_prefix: ICT
  timezone: Asia/Jakarta
  language: id                 # id | en
  database: data/iceta.db
  public_url: https://iceta.example.go.id
  host: 127.0.0.1
  port: 8080
sla:
  response_hours: 24
  remind_before_hours: [12, 2]
  overdue_repeat_hours: 24
  confirm_days: 3
telegram:
  mode: webhook                # webhook | polling
whatsapp:
  from: "whatsapp:+14155238886"
  update_template_sid: ""      # approved Content template for messages outside the 24h window
dispatch:
  name: Call Center I-Ceta
  telegram_chat_id: -1001000000000
supervisors:
  telegram_chat_ids: [-1001000000099]
  digest_time: "07:00"
agencies:
  - id: pupr
    name: Dinas Pekerjaan Umum dan Penataan Ruang
    telegram_chat_id: -1001000000001
categories:
  - id: jalan
    label: {id: Jalan dan jembatan rusak, en: Damaged roads and bridges}
    agency: pupr
    keywords: [jalan, jembatan, aspal, berlubang]
"""


def minimal() -> dict[str, Any]:
    """The smallest valid config: only the sections without defaults."""
    return {
        "dispatch": {"name": "Call Center I-Ceta", "telegram_chat_id": -1001000000000},
        "agencies": [
            {"id": "pupr", "name": "Dinas PUPR", "telegram_chat_id": -1001000000001},
            {"id": "dinkes", "name": "Dinas Kesehatan", "telegram_chat_id": -1001000000002},
            {"id": "dlh", "name": "Dinas Lingkungan Hidup", "telegram_chat_id": -1001000000003},
        ],
        "categories": [
            {"id": "jalan", "label": {"id": "Jalan rusak"}, "agency": "pupr"},
            {"id": "kesehatan", "label": {"id": "Puskesmas"}, "agency": "dinkes"},
            {"id": "sampah", "label": {"id": "Sampah"}, "agency": "dlh"},
            {"id": "banjir", "label": {"id": "Banjir"}, "agency": "pupr"},
        ],
        "supervisors": {"telegram_chat_ids": [-1001000000099]},
    }


def problems_of(raw: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


def problems_of_file(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def assert_names(problems: list[str], path: str) -> None:
    """Some problem line starts with exactly `path: `."""
    assert any(line.startswith(f"{path}: ") for line in problems), problems


# --- the shipped config.yaml ---------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(SHIPPED)


def test_shipped_config_has_the_indramayu_agencies(shipped: Config) -> None:
    names = {agency.id: agency.name for agency in shipped.agencies}
    for agency_id, name in REQUIRED_AGENCIES.items():
        assert agency_id in names, agency_id
        assert names[agency_id].startswith(name), (agency_id, names[agency_id])


def test_shipped_config_keeps_the_product_defaults(shipped: Config) -> None:
    assert shipped.service.name == "I-Ceta"
    assert shipped.service.ticket_prefix == "ICT"
    assert shipped.service.timezone == "Asia/Jakarta"
    assert shipped.service.language == "id"
    assert shipped.service.database == "data/iceta.db"
    assert shipped.service.public_url == "https://iceta.example.go.id"
    assert (shipped.service.host, shipped.service.port) == ("127.0.0.1", 8080)
    assert shipped.sla.response_hours == 24
    assert shipped.sla.remind_before_hours == [12, 2]
    assert shipped.sla.overdue_repeat_hours == 24
    assert shipped.sla.confirm_days == 3
    assert shipped.telegram.mode == "webhook"
    assert shipped.whatsapp.from_ == "whatsapp:+14155238886"
    assert shipped.whatsapp.update_template_sid == ""
    assert shipped.dispatch.name == "Call Center I-Ceta"
    assert shipped.dispatch.telegram_chat_id == -1001000000000
    assert shipped.supervisors.telegram_chat_ids == [-1001000000099]
    assert shipped.supervisors.digest_time == "07:00"
    assert shipped.privacy.retention_days == 730


def test_shipped_config_uses_the_fixed_key_layout() -> None:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    fixed = yaml.safe_load(PRODUCT_EXAMPLE)
    for section, keys in fixed.items():
        assert section in raw, section
        if isinstance(keys, dict):
            assert set(keys) <= set(raw[section]), section
    assert raw["agencies"][0]["id"] == "pupr"
    assert raw["categories"][0]["id"] == "jalan"


def test_every_shipped_category_routes_to_an_existing_agency(shipped: Config) -> None:
    assert 12 <= len(shipped.categories) <= 18
    for category in shipped.categories:
        agency = shipped.agency(category.agency)
        assert agency is not None, category.id
        assert category.text("id") and category.text("en") != category.text("id")
        assert category.keywords, category.id
        assert all(keyword == keyword.lower() for keyword in category.keywords)


def test_shipped_categories_know_common_words(shipped: Config) -> None:
    def routed(word: str) -> set[str]:
        return {c.agency for c in shipped.categories if word in c.keywords + c.general_keywords}

    assert routed("jalan") == {"pupr"}
    assert routed("pju") == {"disperkim"}
    assert routed("sampah") == {"dlh"}
    assert routed("air keruh") == {"pdam"}
    assert routed("ktp") == {"disdukcapil"}
    assert routed("bansos") == {"dinsos"}
    assert routed("longsor") == {"bpbd"}
    assert routed("pkl") == {"satpolpp"}
    assert routed("parkir") == {"dishub"}
    assert routed("puskesmas") == {"dinkes"}


def test_shipped_referrals_cover_what_the_regency_does_not_handle(shipped: Config) -> None:
    pln = shipped.referral("pln")
    assert pln is not None and "listrik" in pln.keywords and "123" in pln.contact
    for referral_id in ("bpjs_kesehatan", "polres", "bpn"):
        referral = shipped.referral(referral_id)
        assert referral is not None and referral.contact and referral.keywords, referral_id
    # a referral keyword never doubles as a category keyword: the bot could not choose
    category_words = {word for c in shipped.categories for word in c.keywords}
    for referral in shipped.referrals:
        assert not category_words & set(referral.keywords), referral.id


def test_shipped_chat_ids_are_all_distinct(shipped: Config) -> None:
    chats = [shipped.dispatch.telegram_chat_id, *shipped.supervisors.telegram_chat_ids]
    chats += [agency.telegram_chat_id for agency in shipped.agencies]
    assert len(chats) == len(set(chats))


def test_the_product_example_is_a_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(PRODUCT_EXAMPLE, encoding="utf-8")
    config = load_config(path)
    assert config.category("jalan").label.en == "Damaged roads and bridges"  # type: ignore[union-attr]
    assert config.agency("pupr").display == "Dinas Pekerjaan Umum dan Penataan Ruang"  # type: ignore[union-attr]


# --- defaults and helpers ---------------------------------------------------------------


def test_missing_and_empty_sections_get_the_defaults() -> None:
    raw = minimal() | {"service": None, "sla": None, "telegram": None, "privacy": None}
    config = parse_config(raw)
    assert config.service.ticket_prefix == "ICT"
    assert config.service.port == 8080
    assert config.service.tz.key == "Asia/Jakarta"
    assert config.sla.response_time == timedelta(hours=24)
    assert config.sla.reminder_offsets == [timedelta(hours=12), timedelta(hours=2)]
    assert config.sla.overdue_repeat == timedelta(hours=24)
    assert config.sla.confirm_window == timedelta(days=3)
    assert config.sla.draft_expiry == timedelta(hours=24)
    assert config.telegram.mode == "webhook"
    assert config.whatsapp.from_ == "whatsapp:+14155238886"
    assert config.supervisors.digest_at == time(7, 0)
    assert config.referrals == []
    assert config.privacy.retention_days == 730


def test_values_are_normalised_on_load() -> None:
    raw = minimal()
    raw["service"] = {"public_url": "https://iceta.indramayukab.go.id/bot/"}
    raw["sla"] = {"response_hours": 48, "remind_before_hours": [2, 24, 12, 2]}
    raw["categories"][0]["keywords"] = ["Jalan", " JEMBATAN  rusak ", "jalan"]
    raw["categories"][1]["label"] = "Puskesmas"
    raw["supervisors"]["digest_time"] = "7:05"
    config = parse_config(raw)
    assert config.supervisors.digest_time == "07:05"
    assert config.service.public_url == "https://iceta.indramayukab.go.id/bot"
    assert config.sla.remind_before_hours == [24, 12, 2]
    assert config.categories[0].keywords == ["jalan", "jembatan rusak"]
    assert config.categories[1].text("en") == "Puskesmas"


def test_unquoted_digest_time_is_read_as_a_time(tmp_path: Path) -> None:
    raw = minimal()
    raw["supervisors"]["digest_time"] = "17:30"
    text = yaml.safe_dump(raw).replace("'17:30'", "17:30")
    assert "digest_time: 17:30" in text
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path).supervisors.digest_at == time(17, 30)


def test_chat_lookups_compare_ids_as_text(shipped: Config) -> None:
    assert shipped.agency_for_chat(-1001000000010).id == "pdam"  # type: ignore[union-attr]
    assert shipped.agency_for_chat("-1001000000010").id == "pdam"  # type: ignore[union-attr]
    assert shipped.agency_for_chat(-1001000000000) is None
    assert shipped.is_dispatch_chat("-1001000000000")
    assert not shipped.is_dispatch_chat(-1001000000001)
    assert shipped.is_supervisor_chat(-1001000000099)
    assert not shipped.is_supervisor_chat("-1001000000000")
    assert shipped.agency("nope") is None
    assert shipped.category("nope") is None
    assert shipped.referral("nope") is None


@pytest.mark.parametrize(
    ("host", "setting", "enabled"),
    [
        ("127.0.0.1", None, True),
        ("localhost", None, True),
        ("::1", None, True),
        ("0.0.0.0", None, False),
        ("0.0.0.0", True, True),
        ("127.0.0.1", False, False),
    ],
)
def test_local_console_defaults_to_loopback_only(
    host: str, setting: bool | None, enabled: bool
) -> None:
    raw = minimal() | {"service": {"host": host, "local_console": setting}}
    assert parse_config(raw).service.local_console_enabled is enabled


# --- one line per problem, naming the key ---------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: object) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target: Any = raw
        for key in path[:-1]:
            target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
        target[path[-1]] = value

    return mutate


def _duplicate_agency(raw: dict[str, Any]) -> None:
    raw["agencies"].append(dict(raw["agencies"][0], telegram_chat_id=-1001000000050))


def _drop_dispatch(raw: dict[str, Any]) -> None:
    del raw["dispatch"]


BAD_VALUES: list[tuple[str, Mutation, str]] = [
    ("negative hours", _set("sla", "response_hours", value=-5), "sla.response_hours"),
    ("zero repeat", _set("sla", "overdue_repeat_hours", value=0), "sla.overdue_repeat_hours"),
    (
        "negative reminder",
        _set("sla", "remind_before_hours", value=[12, -2]),
        "sla.remind_before_hours[1]",
    ),
    (
        "reminder at the deadline",
        _set("sla", "remind_before_hours", value=[2, 24]),
        "sla.remind_before_hours[1]",
    ),
    (
        "reminder past the deadline",
        _set("sla", "remind_before_hours", value=[30]),
        "sla.remind_before_hours[0]",
    ),
    ("hours as text", _set("sla", "response_hours", value="sehari"), "sla.response_hours"),
    ("hours as boolean", _set("sla", "confirm_days", value=True), "sla.confirm_days"),
    ("unknown agency", _set("categories", 3, "agency", value="xyz"), "categories[3].agency"),
    ("duplicate agency id", _duplicate_agency, "agencies[3].id"),
    ("duplicate category id", _set("categories", 2, "id", value="jalan"), "categories[2].id"),
    (
        "agency chat is dispatch",
        _set("agencies", 2, "telegram_chat_id", value=-1001000000000),
        "agencies[2].telegram_chat_id",
    ),
    (
        "agency chat is another agency",
        _set("agencies", 1, "telegram_chat_id", value=-1001000000001),
        "agencies[1].telegram_chat_id",
    ),
    (
        "supervisor chat is an agency",
        _set("supervisors", "telegram_chat_ids", value=[-1001000000003]),
        "agencies[2].telegram_chat_id",
    ),
    ("port is text", _set("service", "port", value="abc"), "service.port"),
    ("port out of range", _set("service", "port", value=70000), "service.port"),
    ("bad timezone", _set("service", "timezone", value="Asia/Jakrta"), "service.timezone"),
    ("bad language", _set("service", "language", value="jv"), "service.language"),
    ("lowercase prefix", _set("service", "ticket_prefix", value="ict-"), "service.ticket_prefix"),
    (
        "public_url not http",
        _set("service", "public_url", value="iceta.example.go.id"),
        "service.public_url",
    ),
    (
        "bad digest time",
        _set("supervisors", "digest_time", value="25:00"),
        "supervisors.digest_time",
    ),
    (
        "digest time without minutes",
        _set("supervisors", "digest_time", value="7"),
        "supervisors.digest_time",
    ),
    ("bad telegram mode", _set("telegram", "mode", value="poll"), "telegram.mode"),
    ("bad whatsapp sender", _set("whatsapp", "from", value="+14155238886"), "whatsapp.from"),
    ("typo in a key", _set("sla", "respons_hours", value=24), "sla.respons_hours"),
    ("typo in a section", _set("supervisor", "digest_time", value="07:00"), "supervisor"),
    ("typo in an agency key", _set("agencies", 1, "chat_id", value=-1), "agencies[1].chat_id"),
    ("agency id not a slug", _set("agencies", 0, "id", value="Dinas PUPR"), "agencies[0].id"),
    (
        "chat id is text",
        _set("dispatch", "telegram_chat_id", value="grup dispatch"),
        "dispatch.telegram_chat_id",
    ),
    (
        "label without id",
        _set("categories", 0, "label", value={"en": "Roads"}),
        "categories[0].label.id",
    ),
    (
        "empty keyword",
        _set("categories", 1, "keywords", value=["ok", "  "]),
        "categories[1].keywords[1]",
    ),
    ("no agencies", _set("agencies", value=[]), "agencies"),
    ("categories not a list", _set("categories", value={"jalan": "pupr"}), "categories"),
    ("section not a mapping", _set("sla", value=24), "sla"),
    ("no dispatch", _drop_dispatch, "dispatch"),
    ("empty retention", _set("privacy", "retention_days", value=0), "privacy.retention_days"),
]


@pytest.mark.parametrize(
    ("mutate", "key"), [(m, k) for _, m, k in BAD_VALUES], ids=[name for name, _, _ in BAD_VALUES]
)
def test_bad_value_names_its_key(mutate: Mutation, key: str) -> None:
    raw = minimal()
    mutate(raw)
    problems = problems_of(raw)
    assert_names(problems, key)
    assert all("\n" not in line for line in problems)


def test_problem_lines_say_what_is_wrong() -> None:
    raw = minimal()
    raw["sla"] = {"response_hours": -5}
    assert problems_of(raw) == ["sla.response_hours: must be greater than 0 (got -5)"]

    raw = minimal()
    raw["categories"][3]["agency"] = "xyz"
    assert problems_of(raw)[0].startswith("categories[3].agency: unknown agency 'xyz'")

    raw = minimal()
    raw["categories"][1]["agency"] = "dinks"
    assert problems_of(raw) == [
        "categories[1].agency: unknown agency 'dinks'; did you mean 'dinkes'?"
    ]

    raw = minimal()
    raw["agencies"][2]["telegram_chat_id"] = -1001000000000
    assert problems_of(raw) == [
        "agencies[2].telegram_chat_id: chat id -1001000000000 is used twice "
        "(also dispatch.telegram_chat_id)"
    ]

    raw = minimal()
    raw["sla"] = {"respons_hours": 24}
    assert problems_of(raw) == ["sla.respons_hours: unknown key; did you mean 'response_hours'?"]


def test_every_problem_is_reported_at_once() -> None:
    raw = minimal()
    raw["service"] = {"port": "abc", "timezone": "Mars/Olympus"}
    raw["supervisors"]["digest_time"] = "25:00"
    problems = problems_of(raw)
    for key in ("service.port", "service.timezone", "supervisors.digest_time"):
        assert_names(problems, key)


def test_config_error_message_lists_the_problems() -> None:
    raw = minimal()
    raw["service"] = {"port": 0, "language": "xx"}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert str(caught.value).splitlines() == caught.value.problems
    assert len(caught.value.problems) == 2


# --- files that are not a config at all ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sla:\n  response_hours: 24\n   bad: [\n", "config: invalid YAML at line 3: "),
        ("sla: {response_hours: 24\n", "config: invalid YAML at line 2: "),
        ("service:\n\tport: 8080\n", "config: invalid YAML at line 2: "),
        ("sla: {}\nsla: {}\n", "config: invalid YAML at line 2: duplicate key 'sla'"),
        ("", "config: the file is empty"),
        ("# only a comment\n", "config: the file is empty"),
        ("- dispatch\n- agencies\n", "config: the top level must be a mapping"),
        ("just some text\n", "config: the top level must be a mapping"),
        ("a: 1\n---\nb: 2\n", "config: invalid YAML at line 2: "),
        ("a: !!python/object/apply:os.system [id]\n", "config: invalid YAML at line 1: "),
        ("x: 2024-13-45\n", "config: invalid YAML value: "),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", "config: invalid YAML"),
        ("1: a\n", "config: key 1 must be text"),
    ],
    ids=[
        "syntax",
        "unclosed flow mapping",
        "tab indent",
        "duplicate key",
        "empty",
        "only a comment",
        "top level is a list",
        "top level is text",
        "two documents",
        "python tag",
        "impossible date",
        "nested too deeply",
        "number as key",
    ],
)
def test_broken_file_is_one_clear_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    problems = problems_of_file(path)
    assert any(line.startswith(expected) for line in problems), problems
    assert all("\n" not in line for line in problems)


def test_missing_file(tmp_path: Path) -> None:
    problems = problems_of_file(tmp_path / "nope.yaml")
    assert problems == [f"config: file not found: {tmp_path / 'nope.yaml'}"]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert problems_of_file(tmp_path)[0].startswith("config: cannot read ")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"service:\n  name: \xff\xfe\n")
    assert problems_of_file(path)[0].startswith("config: ")


def test_windows_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
    assert load_config(path).service.name == "I-Ceta"


def test_any_value_anywhere_gives_config_error_not_a_crash() -> None:
    odd_values: list[object] = [None, 0, -1, "", "x", [], {}, [None], {1: 2}, True, 1.5,
                                float("nan"), float("inf"), 10**30, [[[]]]]  # fmt: skip
    base = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))

    def paths(node: object, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        found = [at] if at else []
        if isinstance(node, dict):
            for key, child in node.items():
                found += paths(child, (*at, key))
        elif isinstance(node, list):
            for index, child in enumerate(node[:2]):
                found += paths(child, (*at, index))
        return found

    for path in paths(base):
        for value in odd_values:
            raw = copy.deepcopy(base)
            target: Any = raw
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            try:
                parse_config(raw)
            except ConfigError as error:
                assert error.problems
                assert all("\n" not in line and ": " in line for line in error.problems)


# --- the command line -------------------------------------------------------------------------


def run_check_config(config: Path) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != "ICETA_CONFIG"}
    return subprocess.run(
        [sys.executable, "run_bot.py", "check-config", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )


needs_cli = pytest.mark.skipif(not HAS_CLI, reason="run_bot.py is not written yet")


@needs_cli
def test_cli_accepts_the_shipped_config() -> None:
    result = run_check_config(SHIPPED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@needs_cli
def test_cli_lists_each_problem_on_its_own_line(tmp_path: Path) -> None:
    raw = minimal()
    raw["sla"] = {"response_hours": -1}
    raw["service"] = {"port": "abc"}
    raw["categories"][3]["agency"] = "xyz"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")

    result = run_check_config(path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = output.splitlines()
    for key in ("sla.response_hours", "service.port", "categories[3].agency"):
        assert sum(f"{key}: " in line for line in lines) == 1, output
    assert any("categories[3].agency: unknown agency 'xyz'" in line for line in lines)


@needs_cli
def test_cli_names_every_problem_of_a_file_in_one_run(tmp_path: Path) -> None:
    """The agency list is itself invalid, and a category names an agency that is not in
    it: both are named at once, not the second only after the first is fixed."""
    raw = minimal()
    del raw["agencies"][1]["telegram_chat_id"]  # an invalid agency list ...
    raw["agencies"][2]["id"] = "pupr"  # ... with a duplicate id
    raw["categories"][2]["agency"] = "dlhh"  # and a category pointing nowhere
    raw["sla"] = {"response_hours": 0}
    path = tmp_path / "several.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")

    result = run_check_config(path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    for expected in (
        "agencies[1].telegram_chat_id: is required",
        "agencies[2].id: duplicate agency id 'pupr' (also agencies[0].id)",
        "categories[2].agency: unknown agency 'dlhh'",
        "sla.response_hours: ",
    ):
        assert sum(expected in line for line in lines) == 1, output


@needs_cli
@pytest.mark.parametrize(
    ("text", "expected"),
    [("sla: [\n", "config: invalid YAML at line 2"), ("", "config: "), ("- a\n", "config: ")],
    ids=["yaml syntax error", "empty file", "top level is a list"],
)
def test_cli_reports_broken_files_without_traceback(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = run_check_config(path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert expected in output


@needs_cli
def test_cli_reports_a_missing_file(tmp_path: Path) -> None:
    result = run_check_config(tmp_path / "missing.yaml")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert "config: file not found" in output


@pytest.mark.parametrize("given", ["2:00", "02", "02:00:30", "25:00", "02:00+07:00"])
def test_the_backup_time_is_hh_mm(given: str) -> None:
    with pytest.raises(ConfigError, match='backup.time: must be a time of day as "HH:MM"'):
        parse_config({**TEST_CONFIG, "backup": {"directory": "/tmp/b", "time": given}})
