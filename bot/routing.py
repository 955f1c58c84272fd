"""Which category (or referral) a complaint belongs to.

A complaint and every keyword are reduced to root words (`bot.language.stems`), so
affixes, chat spellings and a few Javanese and Sundanese words do not hide a match.
The evidence is weighed:

- a keyword of several words ("lampu jalan", "air tidak keluar") weighs more than a
  single word, and the words it covers do not count again on their own;
- a specific keyword (pdam, pju, dukcapil) weighs more than a general one (jalan,
  kotor, saluran: the config's `general_keywords`);
- the words of the category's `examples` (real complaints) add a little, so a
  complaint worded like earlier ones is still recognised without a keyword.

Each keyword counts once, however often it is repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bot.config import Category, Config, Referral
from bot.language import stems

SPECIFIC = 2.0  # a one-word keyword
GENERAL = 0.75  # a one-word general keyword
PER_EXTRA_WORD = 1.5  # each further word of a phrase
EXAMPLE_WEIGHT = 1.0  # a word found only in the examples of one category
EXAMPLE_CAP = 1.5  # all example words together: less than one specific keyword
EXAMPLE_MIN = 3  # a word of fewer examples than this (a place name) is no evidence
EXAMPLE_SHARE = 0.75  # ... nor is one whose share of any single category is below this
SUGGEST_AT = 0.6  # the least score that is a suggestion
MAX_SUGGESTIONS = 3

# Words too common in any complaint to tell categories apart (their root forms).
STOPWORDS = frozenset(
    stems(
        """
        yang di ke dari dan atau itu ini ada sudah telah belum tidak bukan juga saja
        kami saya kita aku kamu mereka dia warga masyarakat desa kelurahan kecamatan
        kabupaten kota indramayu cirebon majalengka subang kuningan jawa barat blok
        dusun rt rw pak bu bapak ibu mohon tolong minta harap segera agar supaya
        karena sejak sampai hingga selama lebih kurang sangat sekali banyak sering
        hari minggu bulan tahun lama kali jam pagi siang sore malam setiap tiap
        dengan untuk pada dalam oleh akan bisa dapat harus masih lagi pun namun
        tapi tetapi padahal bahkan hanya cuma para pihak pemerintah pemkab dinas
        kondisi keluh aduh lapor adu kata ujar ungkap jelas sebut tersebut hal
        kepada seperti begitu sangat sudah akibat jadi membuat buat sehingga
        """
    )
)


class _Keyworded(Protocol):
    id: str
    keywords: list[str]
    general_keywords: list[str]
    examples: list[str]


Opt = TypeVar("Opt", bound=_Keyworded)


@dataclass(frozen=True)
class Suggestion(Generic[Opt]):
    """An option the complaint seems to be about, and how strongly."""

    option: Opt
    score: float


def _weight(size: int, general: bool) -> float:
    return (GENERAL if general else SPECIFIC) + PER_EXTRA_WORD * (size - 1)


class Matcher(Generic[Opt]):
    """Scores options (the config's categories and referrals) against a complaint.

    Built once per config. Keywords are kept in a table by their first root word, so a
    complaint costs about its length, not the number of keywords in the config.
    """

    def __init__(self, options: Sequence[Opt]) -> None:
        self._options = list(options)
        # first root word -> [(phrase, option index, keyword index, weight)], longest first
        self._by_first: dict[str, list[tuple[tuple[str, ...], int, int, float]]] = {}
        for index, option in enumerate(self._options):
            # keywords that read the same as root words ("uwuh" is "sampah") are one
            weights: dict[tuple[str, ...], float] = {}
            for keyword, general in [
                *((k, False) for k in option.keywords),
                *((k, True) for k in option.general_keywords),
            ]:
                phrase = tuple(stems(keyword))
                if phrase:  # not blank, or punctuation only
                    weight = _weight(len(phrase), general)
                    weights[phrase] = max(weight, weights.get(phrase, 0.0))
            for number, (phrase, weight) in enumerate(weights.items()):
                entry = (phrase, index, number, weight)
                self._by_first.setdefault(phrase[0], []).append(entry)
        for entries in self._by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        self._example_words = self._learn_examples()

    def _learn_examples(self) -> dict[str, list[tuple[int, float]]]:
        """Root words of the examples that point to one category: each word's share of
        each category (by the fraction of that category's examples that have it), kept
        where the share is at least EXAMPLE_SHARE; a word common to many categories, or
        found in fewer than EXAMPLE_MIN examples (a place name), is no evidence."""
        counts: dict[str, dict[int, int]] = {}
        sizes: dict[int, int] = {}
        for index, option in enumerate(self._options):
            examples = option.examples
            sizes[index] = len(examples)
            for example in examples:
                for word in set(stems(example)) - STOPWORDS:
                    if len(word) >= 3 and not word.isdecimal():
                        per_option = counts.setdefault(word, {})
                        per_option[index] = per_option.get(index, 0) + 1
        table: dict[str, list[tuple[int, float]]] = {}
        for word, per_option in counts.items():
            if sum(per_option.values()) < EXAMPLE_MIN:
                continue
            rates = {index: count / sizes[index] for index, count in per_option.items()}
            total = sum(rates.values())
            kept = [
                (index, EXAMPLE_WEIGHT * rate / total)
                for index, rate in rates.items()
                if rate / total >= EXAMPLE_SHARE
            ]
            if kept:
                table[word] = kept
        return table

    def scores(self, description: str) -> list[float]:
        """The weight of evidence for each option (0 when none)."""
        roots = stems(description)
        scores = [0.0] * len(self._options)
        counted: set[tuple[int, int]] = set()
        position = 0
        while position < len(roots):
            longest = 0
            for phrase, index, number, weight in self._by_first.get(roots[position], ()):
                size = len(phrase)
                if longest and size < longest:
                    break  # only the longest phrases found here count
                if tuple(roots[position : position + size]) != phrase:
                    continue
                longest = size
                if (index, number) not in counted:
                    counted.add((index, number))
                    scores[index] += weight
            position += longest or 1
        if self._example_words:
            from_examples = [0.0] * len(self._options)
            for word in set(roots):
                for index, share in self._example_words.get(word, ()):
                    from_examples[index] += share
            for index, extra in enumerate(from_examples):
                scores[index] += min(extra, EXAMPLE_CAP)
        return [round(score, 4) for score in scores]

    def suggest(self, description: str) -> list[Suggestion[Opt]]:
        """The options worth suggesting, best first (equal scores keep config order), at
        most MAX_SUGGESTIONS."""
        scored = [
            (-score, index)
            for index, score in enumerate(self.scores(description))
            if score >= SUGGEST_AT
        ]
        return [
            Suggestion(self._options[index], -negative)
            for negative, index in sorted(scored)[:MAX_SUGGESTIONS]
        ]


def best(suggestions: Sequence[Suggestion[Opt]]) -> list[Suggestion[Opt]]:
    """The suggestions that are the best match: one, unless several score the same."""
    if not suggestions:
        return []
    top = suggestions[0].score
    return [s for s in suggestions if s.score == top]


def routing_options(config: Config) -> list[Category | Referral]:
    """What a complaint can be routed to: the categories, then the referrals."""
    return [*config.categories, *config.referrals]


def suggestion_id(option: Category | Referral) -> str:
    """A category's id, or `referral:<id>` for a referral (their ids may coincide)."""
    return f"referral:{option.id}" if isinstance(option, Referral) else option.id
