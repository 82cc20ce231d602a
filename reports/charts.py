"""Charts as inline SVG, drawn here so the daily report needs no script and no network.

Every label that may come from submitted data goes through `escape`; the result is `Markup`
so that Jinja inserts it as is.  Charts scale with the page (`viewBox`, width 100%) and print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# One palette for the whole report, so the chart colours match the matrix legend.
COLOURS = {
    "bar": "#3b6ea5",
    "bar_today": "#e08a1e",
    "complete": "#3c8d5a",
    "deficient": "#c0392b",
    "other": "#9aa5b1",
    "grid": "#d9dee4",
    "text": "#334",
}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    points: Sequence[tuple[str, int]],
    *,
    title: str,
    highlight: str | None = None,
    width: int = 720,
    height: int = 220,
) -> Markup:
    """Vertical bars, one per (label, value); `highlight` marks one label (the report day)."""
    left, right, top, bottom = 34, 8, 18, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, v in points), default=0)
    # Round the scale up to a tidy step so gridlines fall on whole numbers.
    step = max(1, -(-peak // 4))
    scale_max = step * 4 if peak else 4
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{_num(y + 4)}" font-size="11" text-anchor="end" '
            f'fill="{COLOURS["text"]}">{step * i if peak else i}</text>'
        )
    n = len(points)
    if n == 0:
        parts.append(
            f'<text x="{width / 2}" y="{top + plot_h / 2}" font-size="13" text-anchor="middle" '
            f'fill="{COLOURS["text"]}">暂无数据</text>'
        )
    slot = plot_w / max(n, 1)
    bar_w = max(2.0, min(36.0, slot * 0.7))
    # Label at most ~14 days along the axis; more would overlap on a phone.
    every = max(1, -(-n // 14))
    for i, (label, value) in enumerate(points):
        x = left + slot * i + (slot - bar_w) / 2
        h = plot_h * value / scale_max
        y = top + plot_h - h
        colour = COLOURS["bar_today"] if label == highlight else COLOURS["bar"]
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
            f'fill="{colour}"><title>{escape(label)}：{value}</title></rect>'
        )
        if value and bar_w >= 10:
            parts.append(
                f'<text x="{_num(x + bar_w / 2)}" y="{_num(y - 3)}" font-size="10" '
                f'text-anchor="middle" fill="{COLOURS["text"]}">{value}</text>'
            )
        if i % every == 0 or i == n - 1:
            parts.append(
                f'<text x="{_num(x + bar_w / 2)}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle" fill="{COLOURS["text"]}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Segment:
    value: int
    colour: str
    label: str


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[Segment]]],
    *,
    title: str,
    width: int = 720,
    row_height: int = 26,
) -> Markup:
    """Horizontal stacked bars, one row per (label, segments): cases by category and status."""
    left, right, top = 70, 40, 6
    height = top * 2 + row_height * max(len(rows), 1)
    plot_w = width - left - right
    peak = max((sum(s.value for s in segs) for _, segs in rows), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, segments) in enumerate(rows):
        y = top + row_height * i
        parts.append(
            f'<text x="{left - 6}" y="{y + row_height * 0.65:.1f}" font-size="12" '
            f'text-anchor="end" fill="{COLOURS["text"]}">{escape(label)}</text>'
        )
        x = float(left)
        total = 0
        for seg in segments:
            if seg.value <= 0:
                continue
            w = plot_w * seg.value / peak
            parts.append(
                f'<rect x="{_num(x)}" y="{y + 4}" width="{_num(w)}" height="{row_height - 8}" '
                f'fill="{escape(seg.colour)}"><title>{escape(label)} {escape(seg.label)}：'
                f"{seg.value}</title></rect>"
            )
            x += w
            total += seg.value
        parts.append(
            f'<text x="{_num(x + 4)}" y="{y + row_height * 0.65:.1f}" font-size="12" '
            f'fill="{COLOURS["text"]}">{total}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
