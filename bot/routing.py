"""Which category (or referral) a complaint belongs to.

A complaint and every keyword are reduced to root words (`bot.language.stems`), so
affixes, chat spellings and a few Javanese and Sundanese words do not hide a match.
The evidence is weighed:

- a keyword of several words ("lampu jalan", "air tidak keluar") weighs more than a
  single word, and the words it covers do not count again on their own;
- a specific keyword (pdam, pju, dukcapil) weighs more than a general one (jalan,
  kotor, saluran: the config's `general_keywords`);
- what the category's `examples` (real complaints) and keywords teach a small naive
  Bayes model adds up to LEARNED_WEIGHT, so a complaint worded like earlier ones
  ("sudah tiga hari tidak ngocor") is recognised without a keyword, and a general
  word is read in the company it keeps ("air" with "bayar" is PDAM, with "meluap"
  a flood).

Each keyword counts once, however often it is repeated. The best option is
*recommended* (the ⭐) only when its score reaches RECOMMEND_AT: a complaint with no
specific keyword and no clear resemblance gets its likely categories listed, but
none starred, because a wrong ⭐ sends the ticket to the wrong agency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bot.config import Category, Config, Referral
from bot.language import stems

SPECIFIC = 2.0  # a one-word keyword
GENERAL = 0.75  # a one-word general keyword
PER_EXTRA_WORD = 1.5  # each further word of a phrase
LEARNED_WEIGHT = 2.0  # the model's share: its probability of the option times this
SMOOTHING = 0.5  # added to every word count of the model (Lidstone smoothing)
SUGGEST_AT = 0.6  # the least score that is listed as a suggestion
RECOMMEND_AT = 2.0  # the least score that is recommended (one specific keyword's worth)
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
        # first root word -> [(phrase length, {phrase: [(option index, keyword index,
        # weight)]})], longest first: one lookup per length at each word of a complaint
        by_first: dict[str, dict[int, dict[tuple[str, ...], list[tuple[int, int, float]]]]] = {}
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
                by_length = by_first.setdefault(phrase[0], {})
                by_length.setdefault(len(phrase), {}).setdefault(phrase, []).append(
                    (index, number, weight)
                )
        self._by_first = {
            first: sorted(by_length.items(), reverse=True) for first, by_length in by_first.items()
        }
        self._model = _Model(self._options)

    def scores(self, description: str) -> list[float]:
        """The weight of evidence for each option (0 when none)."""
        roots = stems(description)
        scores = [0.0] * len(self._options)
        counted: set[tuple[int, int]] = set()
        position = 0
        while position < len(roots):
            longest = 0
            for size, phrases in self._by_first.get(roots[position], ()):
                found = phrases.get(tuple(roots[position : position + size]))
                if found is None:
                    continue
                longest = size  # only the longest phrases found here count
                for index, number, weight in found:
                    if (index, number) not in counted:
                        counted.add((index, number))
                        scores[index] += weight
                break
            position += longest or 1
        for index, probability in enumerate(self._model.probabilities(roots)):
            scores[index] += LEARNED_WEIGHT * probability
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
    """The suggestions to recommend: the best one, or several that score the same;
    none when even the best is below RECOMMEND_AT (then the suggestions are only
    listed as possibilities)."""
    if not suggestions or suggestions[0].score < RECOMMEND_AT:
        return []
    top = suggestions[0].score
    return [s for s in suggestions if s.score == top]


def _features(roots: Sequence[str]) -> list[str]:
    """The root words the model reads: each once, without stopwords, numbers and
    words shorter than three letters."""
    kept = (r for r in roots if len(r) >= 3 and not r.isdecimal() and r not in STOPWORDS)
    return list(dict.fromkeys(kept))


class _Model:
    """A multinomial naive Bayes model over root words, learned from each option's
    examples and keywords (every keyword is a short document of its option).

    The priors are equal (the examples are not a sample of how often each problem is
    reported); a word nobody used in an example or keyword is ignored.
    """

    def __init__(self, options: Sequence[_Keyworded]) -> None:
        counts: list[dict[str, int]] = []
        for option in options:
            per_word: dict[str, int] = {}
            for document in [*option.examples, *option.keywords, *option.general_keywords]:
                for word in _features(stems(document)):
                    per_word[word] = per_word.get(word, 0) + 1
            counts.append(per_word)
        vocabulary = {word for per_word in counts for word in per_word}
        denominators = [sum(c.values()) + SMOOTHING * len(vocabulary) for c in counts]
        self._size = len(counts)
        # word -> log P(word | option), for each option
        self._log_p: dict[str, list[float]] = {
            word: [
                math.log((c.get(word, 0) + SMOOTHING) / denominator)
                for c, denominator in zip(counts, denominators, strict=True)
            ]
            for word in vocabulary
        }

    def probabilities(self, roots: Sequence[str]) -> list[float]:
        """P(option | words) for every option; all 0 when no word is known."""
        known = [self._log_p[word] for word in _features(roots) if word in self._log_p]
        if not known:
            return [0.0] * self._size
        totals = [sum(column) for column in zip(*known, strict=True)]
        top = max(totals)
        weights = [math.exp(total - top) for total in totals]
        whole = sum(weights)
        return [weight / whole for weight in weights]


def routing_options(config: Config) -> list[Category | Referral]:
    """What a complaint can be routed to: the categories, then the referrals."""
    return [*config.categories, *config.referrals]


def suggestion_id(option: Category | Referral) -> str:
    """A category's id, or `referral:<id>` for a referral (their ids may coincide)."""
    return f"referral:{option.id}" if isinstance(option, Referral) else option.id
