"""How well the shipped config routes real complaints (`make bench-routing`).

Reads tests/data/routing/complaints.jsonl (real complaint texts from public sources,
each with its source and the category it belongs to) and runs the category matcher
the bot uses on every item. Prints, for the held-out part (never used to tune the
keywords or taken as config examples) and for the tuning part:

- top-1 accuracy: the first suggestion is the right category or referral;
- top-3 recall: the right one is among the (at most three) suggestions;
- no suggestion: nothing is suggested at all;
- wrong first: something is suggested, and the first is wrong.

`--misses` lists the tuning items that are not right first (held-out items are never
listed: looking at them would be tuning on them). Exit 1 when a held-out target is
missed: top-1 >= 90 %, no suggestion <= 5 %, wrong first <= 5 %.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config, load_config  # noqa: E402
from bot.routing import Matcher, routing_options, suggestion_id  # noqa: E402

DATA = ROOT / "tests" / "data" / "routing" / "complaints.jsonl"
TARGETS = {"top1": 0.90, "none": 0.05, "wrong_first": 0.05}


@dataclass
class Figures:
    items: int
    top1: float
    top3: float
    none: float
    wrong_first: float


def load_items(path: Path = DATA) -> list[dict[str, str]]:
    """The evaluation items, one JSON object a line."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(config: Config, items: list[dict[str, str]]) -> tuple[Figures, list[str]]:
    """The figures of `items`, and a line for each item that is not right first."""
    matcher = Matcher(routing_options(config))
    top1 = top3 = none = wrong = 0
    misses: list[str] = []
    for item in items:
        found = [suggestion_id(s.option) for s in matcher.suggest(item["text"])]
        if not found:
            none += 1
        elif found[0] == item["label"]:
            top1 += 1
        else:
            wrong += 1
        if item["label"] in found[:3]:
            top3 += 1
        if not found or found[0] != item["label"]:
            misses.append(f"{item['label']:<32} got {found!s:<50} {item['text'][:150]!r}")
    count = max(len(items), 1)
    return Figures(len(items), top1 / count, top3 / count, none / count, wrong / count), misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--misses", action="store_true", help="list the tuning part's misses")
    args = parser.parse_args()
    config = load_config(args.config)
    every = load_items()
    items = [item for item in every if not item.get("excluded")]
    print(
        f"routing of {len(items)} real complaints ({DATA.relative_to(ROOT)}; "
        f"{len(every) - len(items)} more are kept there but excluded: not routable from "
        "their text alone, or fitting two categories equally)"
    )
    print(f"{'part':<10}{'items':>7}{'top-1':>9}{'top-3':>9}{'none':>8}{'wrong 1st':>11}")
    results: dict[str, Figures] = {}
    for part in ("heldout", "tune"):
        figures, misses = evaluate(config, [i for i in items if i["split"] == part])
        results[part] = figures
        print(
            f"{part:<10}{figures.items:>7}{figures.top1:>9.1%}{figures.top3:>9.1%}"
            f"{figures.none:>8.1%}{figures.wrong_first:>11.1%}"
        )
        if part == "tune" and args.misses:
            print("\n".join(misses))
    held = results["heldout"]
    missed = [
        name
        for name, ok in (
            ("top-1", held.top1 >= TARGETS["top1"]),
            ("no suggestion", held.none <= TARGETS["none"]),
            ("wrong first", held.wrong_first <= TARGETS["wrong_first"]),
        )
        if not ok
    ]
    print(
        "targets (held out): top-1 >= 90%, no suggestion <= 5%, wrong first <= 5%: "
        + ("met" if not missed else "MISSED " + ", ".join(missed))
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
