"""Which category (and so which agency) a complaint belongs to."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar


class _Keyworded(Protocol):
    keywords: list[str]


T = TypeVar("T", bound=_Keyworded)

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lower case, every run of other characters one space, a space at each end: a
    keyword occurs as whole words exactly when its normal form is a substring."""
    return " " + _NOT_ALPHANUMERIC.sub(" ", text.lower()) + " "


class Matcher(Generic[T]):
    """Suggests options (the config's categories) for a complaint by their keywords.

    Built once per list of options. A one-word keyword is found by looking the
    complaint's words up in a table, so a complaint costs about its length, not
    the number of keywords in the config; phrases are searched for as text.
    """

    def __init__(self, options: Sequence[T]) -> None:
        self._options = list(options)
        self._by_word: dict[str, list[int]] = {}
        self._phrases: list[tuple[str, int]] = []
        for index, option in enumerate(self._options):
            for keyword in option.keywords:
                words = normalise(keyword).strip()
                if not words:
                    continue  # blank, or punctuation only
                if " " in words:
                    self._phrases.append((f" {words} ", index))
                else:
                    self._by_word.setdefault(words, []).append(index)

    def scores(self, description: str) -> list[int]:
        """How many of each option's keywords occur in `description` (whole words)."""
        haystack = normalise(description)
        scores = [0] * len(self._options)
        for word in set(haystack.split()):
            for index in self._by_word.get(word, ()):
                scores[index] += 1
        for needle, index in self._phrases:
            if needle in haystack:
                scores[index] += 1
        return scores

    def suggest(self, description: str) -> list[T]:
        """The options whose keywords match, best match first (ties keep their order)."""
        scored = [(-score, index) for index, score in enumerate(self.scores(description)) if score]
        return [self._options[index] for _, index in sorted(scored)]
