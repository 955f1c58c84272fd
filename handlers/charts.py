"""Charts drawn on the server as SVG: readable without JavaScript, in print and on a phone.

Two kinds, for the desk's overview and the public page:
- `on_time_chart`: one agency's share answered in time, week by week (a small multiple:
  the page shows one per agency, side by side);
- `category_bars`: how many tickets each category received.

Black and grey strokes and text labels carry the meaning, so a black-and-white print
keeps it; every mark has a `<title>` with its numbers for a pointer or a screen reader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from bot.deadlines import ResponseStats

_WIDTH, _HEIGHT = 320, 120
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 12, 10, 26


def on_time_chart(
    title: str,
    weeks: Sequence[ResponseStats],
    week_labels: Sequence[str],
    describe: Callable[[str, ResponseStats], str],
    min_decided: int = 1,
) -> Markup:
    """An agency's weekly share answered in time (0-100 %); weeks with fewer than
    `min_decided` decided tickets are drawn empty and break the line. `week_labels`
    name the weeks (first and last are printed on the axis); `describe(label, stats)`
    is each point's tooltip."""
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(len(weeks) - 1, 1)

    def x(index: int) -> float:
        return _LEFT + index * step

    def y(percent: float) -> float:
        return _TOP + plot_h * (1 - percent / 100)

    parts = [
        f'<svg class="chart on-time" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for percent in (0, 50, 100):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y(percent):.1f}" '
            f'y2="{y(percent):.1f}" stroke="#bbb" stroke-dasharray="3 3" stroke-width="1"/>'
            f'<text x="{_LEFT - 4}" y="{y(percent) + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#444">{percent}%</text>'
        )
    segments: list[list[tuple[float, float]]] = [[]]
    for index, stats in enumerate(weeks):
        if stats.decided >= max(min_decided, 1):
            segments[-1].append((x(index), y(100 * stats.on_time / stats.decided)))
        elif segments[-1]:
            segments.append([])
    for segment in segments:
        if len(segment) > 1:
            points = " ".join(f"{px:.1f},{py:.1f}" for px, py in segment)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="#111" stroke-width="2"/>'
            )
    for index, stats in enumerate(weeks):
        label = week_labels[index] if index < len(week_labels) else ""
        tip = escape(describe(label, stats))
        if stats.decided >= max(min_decided, 1):
            cy = y(100 * stats.on_time / stats.decided)
            parts.append(
                f'<circle class="week" cx="{x(index):.1f}" cy="{cy:.1f}" r="3.5" fill="#111">'
                f"<title>{tip}</title></circle>"
            )
        else:
            parts.append(
                f'<circle class="week empty" cx="{x(index):.1f}" cy="{y(0):.1f}" r="2.5" '
                f'fill="#fff" stroke="#888"><title>{tip}</title></circle>'
            )
    if week_labels:
        baseline = _HEIGHT - 8
        parts.append(
            f'<text x="{_LEFT}" y="{baseline}" font-size="11" fill="#444">'
            f"{escape(week_labels[0])}</text>"
            f'<text x="{_WIDTH - _RIGHT}" y="{baseline}" font-size="11" fill="#444" '
            f'text-anchor="end">{escape(week_labels[-1])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def category_bars(title: str, counts: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per category, longest first, each with its count."""
    rows = sorted(counts, key=lambda item: (-item[1], item[0]))
    label_w, bar_w, row_h = 230, 300, 22
    width = label_w + bar_w + 50
    height = max(row_h * len(rows), row_h) + 8
    most = max((count for _, count in rows), default=0) or 1
    parts = [
        f'<svg class="chart categories" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, count) in enumerate(rows):
        top = 4 + index * row_h
        shown = label if len(label) <= 34 else label[:33] + "…"
        length = bar_w * count / most
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {count}</title>'
            f'<text x="{label_w - 6}" y="{top + 15}" text-anchor="end" font-size="12" '
            f'fill="#111">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{top + 3}" width="{length:.1f}" height="{row_h - 8}" '
            f'fill="#555"/>'
            f'<text x="{label_w + length + 5:.1f}" y="{top + 15}" font-size="12" '
            f'fill="#111">{count}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
