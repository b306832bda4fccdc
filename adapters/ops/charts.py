"""Small inline SVG charts for the operator page: no JavaScript, no external files, so the
page works offline and behind any proxy, and a test can read the numbers from the markup
(each bar and point carries its value in a ``<title>``, shown on hover)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 180, 48, 34, 14
BLUE, GREY = "#1f77b4", "#9e9e9e"


def nice_top(value: float, *, integers: bool = False) -> tuple[float, float]:
    """(axis top, tick step): a 1-2-5 step giving four or five ticks above ``value``
    (whole-number steps for counts)."""
    if value <= 0:
        return (4.0, 1.0) if integers else (1.0, 0.25)
    raw = max(value / 4, 1.0) if integers else value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(value / step - 1e-9), step


def _label(value: float, step: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0%}"
    decimals = 0 if step >= 1 else len(f"{step:g}".split(".")[1])
    return f"{value:,.{decimals}f}{unit}"


def _axis(top: float, step: float, unit: str) -> str:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    lines = []
    ticks = round(top / step)
    for i in range(ticks + 1):
        value = step * i
        y = HEIGHT - PAD_BOTTOM - plot_h * value / top
        lines.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
            f"{escape(_label(value, step, unit))}</text>"
        )
    return "".join(lines)


def bars(
    title: str,
    points: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    errors: Sequence[tuple[float, float]] | None = None,
    highlight: Sequence[bool] | None = None,
    integers: bool = False,
) -> str:
    """A bar per (label, value); ``errors`` gives (low, high) whiskers; ``unit`` "%" formats
    values as percentages. An empty series says so instead of drawing an empty frame."""
    if not points:
        return f'<p class="empty">{escape(title)}: no data yet.</p>'
    highs = [high for _, high in errors] if errors else []
    peak = max([*(v for _, v in points), *highs, 0.0])
    top, step = (1.0, 0.25) if unit == "%" and peak > 0.5 else nice_top(peak, integers=integers)
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / len(points)
    width = max(2.0, min(60.0, slot * 0.7))
    shapes = [_axis(top, step, unit)]
    longest = max(len(label) for label, _ in points)
    every = max(1, math.ceil(len(points) * (longest * 6 + 10) / plot_w))  # no overlaps
    for i, (label, value) in enumerate(points):
        x = PAD_LEFT + slot * i + (slot - width) / 2
        h = plot_h * value / top
        y = HEIGHT - PAD_BOTTOM - h
        colour = GREY if highlight and highlight[i] else BLUE
        shown = f"{value:.1%}" if unit == "%" else f"{value:,.1f}{unit}"
        shapes.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{colour}" data-label="{escape(label)}" data-value="{value:g}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
        )
        if errors:
            low, high = errors[i]
            cx = x + width / 2
            y_low = HEIGHT - PAD_BOTTOM - plot_h * low / top
            y_high = HEIGHT - PAD_BOTTOM - plot_h * high / top
            shapes.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_low:.1f}" y2="{y_high:.1f}" '
                'stroke="#333"/>'
            )
        if i % every == 0:
            shapes.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" '
                f'text-anchor="middle" font-size="10">{escape(label)}</text>'
            )
    return (
        f'<figure><figcaption>{escape(title)}</figcaption>'
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">{"".join(shapes)}</svg></figure>'
    )
