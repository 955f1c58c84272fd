"""Which category (and so which agency) a complaint belongs to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar


class _Keyworded(Protocol):
    keywords: list[str]


T = TypeVar("T", bound=_Keyworded)


def _normalise(text: str) -> str:
    return " " + re.sub(r"[^0-9a-z]+", " ", text.lower()) + " "


def matches(keywords: Iterable[str], description: str) -> int:
    """How many of `keywords` occur in `description` as whole words or phrases."""
    haystack = _normalise(description)
    return sum(1 for word in keywords if word.strip() and _normalise(word) in haystack)


def suggest(options: Sequence[T], description: str) -> list[T]:
    """The options whose keywords match, best match first (ties keep config order)."""
    scored = [
        (matches(option.keywords, description), index, option)
        for index, option in enumerate(options)
    ]
    return [option for score, _, option in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
