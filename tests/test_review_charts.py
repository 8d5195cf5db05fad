"""The review's charts: inline SVG drawn on the server, bars proportional to the figures,
escaped labels, and each chart above its table on the review page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from portal.review import charts
from portal.review.charts import Series
from portal.review.periods import Period
from portal.review.queries import Place
from portal.review.review_charts import UNITS_SHOWN, kind_charts, month_charts, unit_chart
from portal.review.services import Figures, KindRow, MonthRow, Review, UnitRow
from tests.test_incidents import add_tip, place  # noqa: F401 (place is a fixture)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>'


def parse(markup) -> ET.Element:
    """The chart's figure as XML: it must be well-formed to be parsed at all."""
    return ET.fromstring(str(markup))


def bars(figure: ET.Element, series: int | None = None) -> list[ET.Element]:
    found = figure.iter(f"{SVG}rect")
    rects = [r for r in found if r.get("class") == "chart-bar"]
    if series is not None:
        rects = [r for r in rects if r.get("data-series") == str(series)]
    return rects


def columns(values, **kwargs):
    labels = [str(i + 1) for i in range(len(values))]
    return parse(
        charts.column_chart("t", "Tiêu đề", "Tóm tắt", labels, [Series("A", values)], **kwargs)
    )


def test_column_heights_are_proportional_to_values():
    values = [10, 20, 0, 35, 7]
    rects = bars(columns(values))
    assert [float(r.get("data-value")) for r in rects] == values
    heights = [float(r.get("height")) for r in rects]
    assert heights[2] == 0
    ratios = {round(h / v, 3) for h, v in zip(heights, values, strict=True) if v}
    assert len(ratios) == 1  # the same scale for every bar
    # the tallest bar reaches at most the plot's top tick, and stands on the same base line
    assert max(heights) <= charts.PLOT
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in rects}
    assert len(bottoms) == 1


def test_horizontal_bars_are_proportional_and_the_part_lies_within():
    whole, part = [40, 10, 25], [30, 0, 25]
    figure = parse(
        charts.bar_chart(
            "k", "T", "S", ["a", "b", "c"], [Series("Tin", whole), Series("Có giá trị", part)]
        )
    )
    widths = [float(r.get("width").rstrip("%")) for r in bars(figure, 0)]
    assert widths[0] == 100  # the largest takes the whole width
    assert [round(w / v, 3) for w, v in zip(widths, whole, strict=True)] == [2.5] * 3
    parts = [float(r.get("width").rstrip("%")) for r in bars(figure, 1)]
    assert all(p <= w for p, w in zip(parts, widths, strict=True))
    assert parts[1] == 0 and parts[2] == widths[2]
    values = [t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["30 / 40", "0 / 10", "25 / 25"]  # the part first, as the note says


@pytest.mark.parametrize("count", [1, 3, 12, 30])
def test_one_bar_per_row_and_series(count):
    values = list(range(count))
    figure = columns(values)
    assert len(bars(figure)) == count
    two = parse(
        charts.column_chart(
            "g", "T", "S", [str(v) for v in values], [Series("A", values), Series("B", values)]
        )
    )
    assert len(bars(two, 0)) == len(bars(two, 1)) == count
    across = parse(
        charts.bar_chart("h", "T", "S", [f"n{v}" for v in values], [Series("A", values)])
    )
    assert len(bars(across)) == count


def test_zeros_and_nothing_draw_without_dividing_by_zero():
    assert charts.nice_top(0) == (1.0, 1.0)
    flat = columns([0, 0, 0])
    assert {r.get("height") for r in bars(flat)} == {"0"}
    empty = columns([])
    assert bars(empty) == [] and empty.find(f".//{SVG}svg") is not None
    nothing = parse(charts.bar_chart("e", "T", "S", [], [Series("A", [])]))
    assert bars(nothing) == []
    assert float(nothing.find(f".//{SVG}svg").get("height")) > 0


@pytest.mark.parametrize(
    ("largest", "top", "step"),
    [(50_547, 60_000, 20_000), (7, 8, 2), (3, 3, 1), (1_575, 2_000, 500), (183, 200, 50)],
)
def test_round_ticks(largest, top, step):
    assert charts.nice_top(largest) == (top, step)


def test_text_from_data_is_escaped_everywhere():
    markup = str(
        charts.bar_chart(
            HOSTILE,
            HOSTILE,
            HOSTILE,
            [HOSTILE, "Phường Ba Đình"],
            [Series(HOSTILE, [1, 2]), Series("x", [0, 1])],
            note=HOSTILE,
        )
    )
    markup += str(
        charts.column_chart(
            "c", HOSTILE, HOSTILE, [HOSTILE], [Series(HOSTILE, [1])], years=[HOSTILE]
        )
    )
    assert "<script" not in markup
    assert "&lt;script&gt;" in markup
    assert "Phường Ba Đình" in markup  # Vietnamese stays as it is


def test_accessible_name_legend_and_vietnamese_numbers():
    figure = parse(
        charts.column_chart(
            "m",
            "Lượt tuần tra theo tháng",
            "Cao nhất: 01/2026",
            ["1", "2"],
            [Series("Tin báo", [1234, 50_547]), Series("Tin có giá trị", [12, 3])],
            overlay=True,
        )
    )
    svg = figure.find(f"{SVG}svg")
    assert svg.get("role") == "img"
    ids = svg.get("aria-labelledby").split()
    named = {e.get("id"): e.text for e in svg.iter() if e.get("id")}
    assert [named[i] for i in ids] == ["Lượt tuần tra theo tháng", "Cao nhất: 01/2026"]
    assert [li.itertext() and "".join(li.itertext()) for li in figure.iter("li")] == [
        "Tin báo",
        "Tin có giá trị",
    ]
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-tick"]
    assert ticks == ["0", "20.000", "40.000", "60.000"]
    tips = [t.text for t in svg.iter(f"{SVG}title") if t.text and "1.234" in t.text]
    assert tips == ["1: Tin báo 1.234"]


def test_years_under_january_and_not_side_by_side():
    months = [12, 1, 2, 3]
    years = ["2025", "2026", "2026", "2026"]
    figure = columns([1, 2, 3, 4], years=years)
    written = [t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-year"]
    assert written == ["2026"]  # 2025 under December would run into 2026 under January
    assert [t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-label"] == [
        "1",
        "2",
        "3",
        "4",
    ]
    figure = columns([1, 2, 3], years=["2026"] * 3)
    written = [t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-year"]
    assert written == ["2026"] and months  # a period inside one year names it once
    # 24 months label every other one; a January between two labels still names its year
    years = ["2024"] * 5 + ["2025"] * 12 + ["2026"] * 7  # August 2024 to July 2026
    figure = columns(list(range(24)), years=years)
    written = [t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-year"]
    assert written == ["2024", "2025", "2026"]
    labels = [t for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert len(labels) == 12


def review_of(units: int, level: str = "city") -> Review:
    """A review built by hand: no database needed to draw it."""
    period = Period("twelve", date(2025, 12, 1), date(2026, 12, 1))
    months = [
        MonthRow(m, Figures(patrols=10 * i, tips=i, valuable=i // 2, fire=1, rescue=i % 3))
        for i, m in enumerate(period.months())
    ]
    rows = [UnitRow(i + 1, f"Xã {i:03d}", Figures(patrols=(i * 37) % 101)) for i in range(units)]
    return Review(
        place=Place(level, None if level == "city" else 1),
        title="Hà Nội",
        period=period,
        previous=period.previous(),
        figures=Figures(),
        before=Figures(),
        months=months,
        kinds=[KindRow("tip", "theft", 9, 4, 2), KindRow("team", "fire", 3, 3, 0)],
        units=rows,
        as_of=date(2026, 11, 30),
    )


def test_the_review_charts_follow_the_reviews_rows():
    review = review_of(126)
    by_month = [parse(c) for c in month_charts(review)]
    assert [f.get("data-chart") for f in by_month] == [
        "months-patrols",
        "months-tips",
        "months-cases",
    ]
    assert [len(bars(f)) for f in by_month] == [12, 24, 24]
    assert [float(r.get("data-value")) for r in bars(by_month[0])] == [
        m.figures.patrols for m in review.months
    ]
    by_kind = [parse(c) for c in kind_charts(review)]
    assert [len(bars(f)) for f in by_kind] == [2, 1]
    units = parse(unit_chart(review))
    shown = [float(r.get("data-value")) for r in bars(units)]
    assert len(shown) == UNITS_SHOWN
    every = sorted((u.figures.patrols for u in review.units), reverse=True)
    assert shown == every[:UNITS_SHOWN]  # the top ones, highest first
    assert "126" in "".join(units.find("p").itertext())  # the note says the table has them all
    # a commune's teams are all drawn, however many
    teams = parse(unit_chart(review_of(30, "commune")))
    assert len(bars(teams)) == 30 and teams.find("p") is None
    assert unit_chart(review_of(0)) is None


def test_review_page_has_a_chart_above_each_table(admin, demo, place):  # noqa: F811
    add_tip(demo, place, kind="theft")
    add_tip(demo, place, kind="drugs")
    page = admin.get("/review/").get_data(as_text=True)
    # each section's charts come before its table, in the same section
    for chart, table in (("months-patrols", "months"), ("kinds-tips", "kinds"), ("units", "units")):
        start, end = page.index(f'data-chart="{chart}"'), page.index(f'data-table="{table}"')
        assert start < end and "<section" not in page[start:end]
        assert '<svg class="chart-svg' in page[start:end] and 'role="img"' in page[start:end]
    # the teams' own items: none in the demo, so no chart for them (the table says so)
    assert 'data-chart="kinds-team"' not in page
    # one bar per row of the tables below
    units = page[page.index('data-chart="units"') : page.index('data-table="units"')]
    assert units.count('class="chart-bar"') == page.count("<tr data-unit=") > 0
    kinds = page[page.index('data-chart="kinds-tips"') : page.index('data-table="kinds"')]
    assert kinds.count('class="chart-bar" data-series="0"') == 2
