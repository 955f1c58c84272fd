"""Which category (and so which agency) a complaint belongs to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Generic, Protocol, TypeVar


class _Keyworded(Protocol):
    keywords: list[str]


T = TypeVar("T", bound=_Keyworded)

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def _normalise(text: str) -> str:
    return " " + _NOT_ALPHANUMERIC.sub(" ", text.lower()) + " "


@lru_cache(maxsize=4096)
def _needle(keyword: str) -> str:
    """A keyword as it is looked for ("" for a blank one). Keywords come from the
    config, so each is normalised once, not once per complaint."""
    return _normalise(keyword) if keyword.strip() else ""


def _count(keywords: Iterable[str], haystack: str) -> int:
    return sum(1 for word in keywords if (needle := _needle(word)) and needle in haystack)


def matches(keywords: Iterable[str], description: str) -> int:
    """How many of `keywords` occur in `description` as whole words or phrases."""
    return _count(keywords, _normalise(description))


def suggest(options: Sequence[T], description: str) -> list[T]:
    """The options whose keywords match, best match first (ties keep config order)."""
    return Matcher(options).suggest(description)


class Matcher(Generic[T]):
    """`suggest` for one fixed list of options, their keywords normalised once
    (the config's categories: build it once, ask it for every complaint)."""

    def __init__(self, options: Sequence[T]) -> None:
        self._options = [
            (option, [needle for word in option.keywords if (needle := _needle(word))])
            for option in options
        ]

    def suggest(self, description: str) -> list[T]:
        haystack = _normalise(description)
        scored = []
        for index, (option, needles) in enumerate(self._options):
            score = sum(needle in haystack for needle in needles)
            if score:
                scored.append((-score, index, option))
        scored.sort(key=lambda s: (s[0], s[1]))
        return [option for _, _, option in scored]
