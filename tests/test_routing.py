"""Category suggestions by keyword: the fast matcher agrees with the plain definition."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from bot.routing import Matcher, normalise


@dataclass
class Option:
    name: str
    keywords: list[str] = field(default_factory=list)


def plain_scores(options: list[Option], description: str) -> list[int]:
    """The definition: a keyword counts when its words occur in the description, whole
    and in order (case, punctuation and spacing aside)."""
    haystack = f" {' '.join(normalise(description).split())} "
    counts = []
    for option in options:
        needles = [" ".join(normalise(k).split()) for k in option.keywords]
        counts.append(sum(1 for n in needles if n and f" {n} " in haystack))
    return counts


CATEGORIES = [
    Option("jalan", ["jalan", "jembatan", "aspal", "berlubang", "jalan rusak"]),
    Option("sampah", ["sampah", "TPS", "bau"]),
    Option("banjir", ["banjir", "drainase", "saluran air", "genangan"]),
    Option("lainnya", []),
]


def test_suggestions_best_match_first_and_ties_in_config_order() -> None:
    matcher = Matcher(CATEGORIES)
    found = matcher.suggest("Jalan rusak dan berlubang, sampah menumpuk di saluran air")
    assert [o.name for o in found] == ["jalan", "sampah", "banjir"]  # 3, then 1 and 1
    assert matcher.scores("JALAN-RUSAK!!") == [2, 0, 0, 0]  # punctuation is a word break
    assert matcher.suggest("jalanan, sampahnya") == []  # whole words only
    assert matcher.suggest("") == []


words = st.sampled_from(["jalan", "rusak", "sampah", "tps", "air", "saluran", "bau", "x1"])
text = st.lists(st.one_of(words, st.text(alphabet="aJ -.,!é1", max_size=6)), max_size=12).map(
    " ".join
)


@given(
    st.lists(st.lists(text, max_size=5), min_size=1, max_size=5),
    text,
)
def test_the_matcher_agrees_with_the_definition(
    keyword_lists: list[list[str]], description: str
) -> None:
    options = [Option(str(i), keywords) for i, keywords in enumerate(keyword_lists)]
    assert Matcher(options).scores(description) == plain_scores(options, description)
