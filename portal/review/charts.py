"""Bar charts as inline SVG, drawn on the server: no JavaScript, no CDN, and they print.

Pure Python (no Flask, no database): the caller passes every label already translated, and
every text from data is escaped here. Widths are percentages of the page's width and heights
and text are pixels (no viewBox): the bars stretch with the screen while the text keeps its
size, so a chart reads the same on a 390 px phone and on a desktop, and on paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from portal.i18n import thousands

# colours with at least 3:1 against white (WCAG non-text contrast); parts darker than wholes
BLUE = "#1d4e89"
LIGHT_BLUE = "#6c93c7"
DARK_BLUE = "#163d6b"
RED = "#b5171e"
GREEN = "#2d6a4f"

FONT = 14  # px, on every screen: no viewBox scales it down
PLOT = 160  # px, the height of a column chart's bars at their tallest tick
TOP = 22  # px above the plot, for the top tick's label
AXIS = 38  # px under the plot, for the months and their year


@dataclass(frozen=True)
class Series:
    """One set of bars: its name for the legend, its values (one per row), its colour."""

    name: str
    values: Sequence[float]
    colour: str = BLUE


def nice_top(largest: float, ticks: int = 4) -> tuple[float, float]:
    """The axis's top and step: a round step (1, 2, 2,5 or 5 × 10ⁿ) so that at most `ticks`
    steps reach the largest value; (1, 1) for nothing but zeros, so no bar divides by zero."""
    if largest <= 0:
        return 1.0, 1.0
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1:  # counts are whole: no tick at 0,5
        step = 1.0
    return step * math.ceil(largest / step), step


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def _px(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend(series: Sequence[Series]) -> str:
    if len(series) < 2:
        return ""
    # the swatch is a drawing too: its colour prints, and needs no inline style
    items = "".join(
        f'<li><svg class="chart-swatch" width="14" height="14" aria-hidden="true">'
        f'<rect width="14" height="14" rx="2" fill="{escape(s.colour)}"/></svg>'
        f"{escape(s.name)}</li>"
        for s in series
    )
    return f'<ul class="chart-legend">{items}</ul>'


def _figure(key: str, title: str, series: Sequence[Series], svg: str, note: str = "") -> Markup:
    """The chart in a figure: its caption, its legend (for two series or more), the drawing."""
    ident = escape(f"chart-{key}")
    note_html = f'<p class="chart-note muted">{escape(note)}</p>' if note else ""
    return Markup(
        f'<figure class="chart" data-chart="{escape(key)}">'
        f'<figcaption id="{ident}-cap">{escape(title)}</figcaption>'
        f"{_legend(series)}{svg}{note_html}</figure>"
    )


def _svg(key: str, title: str, summary: str, height: float, body: str, kind: str) -> str:
    ident = escape(f"chart-{key}")
    return (
        f'<svg class="chart-svg {kind}" role="img" width="100%" height="{_px(height)}" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-size="{FONT}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(summary)}</desc>{body}</svg>'
    )


def column_chart(
    key: str,
    title: str,
    summary: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    overlay: bool = False,
    years: Sequence[str] | None = None,
    number: Callable[[float], str] = thousands,
) -> Markup:
    """Vertical bars, one group per label (a month): series side by side, or with `overlay`
    the later series drawn inside the first (a part of it: valuable tips within tips).
    `years` (one per label, or empty) is written under the label where the year changes."""
    count = len(labels)
    years = [*(years or ()), *[""] * count][:count]
    largest = max((v for s in series for v in s.values), default=0)
    top, step = nice_top(largest)
    base = TOP + PLOT
    parts: list[str] = []
    # ticks: a line across, and its value left of the plot (the svg's margin, see portal.css)
    tick = 0.0
    while tick <= top + step / 2:
        y = base - PLOT * tick / top
        parts.append(
            f'<line class="chart-grid" x1="0" x2="100%" y1="{_px(y)}" y2="{_px(y)}" '
            f'stroke="{"#5c677d" if tick == 0 else "#d9dee7"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="-6" y="{_px(y + 5)}" text-anchor="end" '
            f'fill="#5c677d" font-size="12">{escape(number(tick))}</text>'
        )
        tick += step
    slot = 100 / count if count else 100
    groups = 1 if overlay else max(len(series), 1)
    bar = slot * (0.7 if count > 1 else 0.3) / groups
    # labels every few months when there are many, so that they never overlap on a phone
    every = max(1, math.ceil(count / 12))
    for i, name in enumerate(labels):
        left = slot * i + (slot - bar * groups) / 2
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            height = PLOT * value / top
            width = bar if not overlay or j == 0 else bar * 0.6
            x = left + (0 if overlay else bar * j) + (bar - width) / 2
            parts.append(
                f'<rect class="chart-bar" data-series="{j}" data-value="{_px(value)}" '
                f'x="{_pct(x)}" y="{_px(base - height)}" width="{_pct(width)}" '
                f'height="{_px(height)}" fill="{escape(s.colour)}">'
                f"<title>{escape(name)}: {escape(s.name)} {escape(number(value))}</title></rect>"
            )
        if i % every == 0:
            centre = slot * i + slot / 2
            parts.append(
                f'<text class="chart-label" x="{_pct(centre)}" y="{_px(base + 17)}" '
                f'text-anchor="middle" fill="#1b263b">{escape(name)}</text>'
            )
            # the year where it changes since the last label (January), and under the first
            # label unless the next one starts a year: two years side by side overlap on a phone
            year = years[i]
            january = i > 0 and years[i - every] != year
            first = i == 0 and not (count > every and years[every] != year)
            if year and (january or first):
                parts.append(
                    f'<text class="chart-year" x="{_pct(centre)}" y="{_px(base + 34)}" '
                    f'text-anchor="middle" fill="#5c677d" font-size="12">{escape(year)}</text>'
                )
    svg = _svg(key, title, summary, base + AXIS, "".join(parts), "chart-columns")
    return _figure(key, title, series, svg)


ROW = 42  # px per bar of a horizontal chart: its label and value on a line, then the bar
BAR = 16


def bar_chart(
    key: str,
    title: str,
    summary: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    note: str = "",
    number: Callable[[float], str] = thousands,
) -> Markup:
    """Horizontal bars, one per label (a kind, a commune, a team), each under a line with its
    label at the left and its value at the right, so that long names and numbers fit a phone.
    The first series is the whole; a second is a part of it drawn inside (valuable tips within
    tips), and its value comes first: 520 / 1.029."""
    whole = series[0].values if series else []
    largest = max(whole, default=0)
    top = largest if largest > 0 else 1
    parts: list[str] = []
    for i, name in enumerate(labels):
        y = ROW * i
        parts.append(
            f'<text class="chart-label" x="0" y="{_px(y + FONT + 1)}" fill="#1b263b">'
            f"{escape(name)}</text>"
        )
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            parts.append(
                f'<rect class="chart-bar" data-series="{j}" data-value="{_px(value)}" x="0" '
                f'y="{_px(y + 21 + (0 if j == 0 else 3))}" width="{_pct(100 * value / top)}" '
                f'height="{_px(BAR if j == 0 else BAR - 6)}" fill="{escape(s.colour)}">'
                f"<title>{escape(name)}: {escape(s.name)} {escape(number(value))}</title></rect>"
            )
        shown = " / ".join(
            number(s.values[i] if i < len(s.values) else 0) for s in reversed(series)
        )
        parts.append(
            f'<text class="chart-value" x="100%" y="{_px(y + FONT + 1)}" text-anchor="end" '
            f'fill="#1b263b" font-weight="600">{escape(shown)}</text>'
        )
    svg = _svg(key, title, summary, max(ROW * len(labels), ROW) - 2, "".join(parts), "chart-bars")
    return _figure(key, title, series, svg, note)
