"""The review's charts: its rows by month, kind and commune (or team) drawn by portal.review.charts,
with the labels in the reader's language. Each chart sits above the table with its numbers."""

from __future__ import annotations

from markupsafe import Markup

from portal.i18n import _, thousands
from portal.review import charts
from portal.review.charts import Series
from portal.review.services import Review, figure_label

# the commune chart of the city keeps the top ones: 126 bars would be a long scroll on a phone
UNITS_SHOWN = 20


def _extremes(labels: list[str], values: list[float]) -> str:
    """Where the figure is highest and lowest, and its total: the chart's words for a reader who
    cannot see it."""
    if not values or not any(values):
        return _("Kỳ này chưa có số liệu.")
    high = max(range(len(values)), key=lambda i: values[i])
    low = min(range(len(values)), key=lambda i: values[i])
    return _(
        "Cao nhất: {a} ({x}); thấp nhất: {b} ({y}); cộng {t}.",
        a=labels[high],
        x=thousands(values[high]),
        b=labels[low],
        y=thousands(values[low]),
        t=thousands(sum(values)),
    )


def month_charts(review: Review) -> list[Markup]:
    """Patrols, tips (with their valuable part), fire and rescue cases by month: three small
    charts side by side on a desktop, one under the other on a phone."""
    names = [row.label for row in review.months_shown]  # 01/2026, for the summaries
    ticks = [str(row.month.month) for row in review.months_shown]
    years = [str(row.month.year) for row in review.months_shown]

    def values(key: str) -> list[int]:
        return [row.figures.value(key) for row in review.months_shown]

    patrols = values("patrols")
    tips, valuable = values("tips"), values("valuable")
    fire, rescue = values("fire"), values("rescue")
    return [
        charts.column_chart(
            "months-patrols",
            _("{f} theo tháng", f=figure_label("patrols")),
            _extremes(names, patrols),
            ticks,
            [Series(figure_label("patrols"), patrols, charts.BLUE)],
            years=years,
        ),
        charts.column_chart(
            "months-tips",
            _("Tin báo theo tháng, trong đó tin có giá trị"),
            _extremes(names, tips),
            ticks,
            [
                Series(figure_label("tips"), tips, charts.LIGHT_BLUE),
                Series(figure_label("valuable"), valuable, charts.DARK_BLUE),
            ],
            overlay=True,
            years=years,
        ),
        charts.column_chart(
            "months-cases",
            _("Vụ cháy, nổ và cứu nạn, cứu hộ theo tháng"),
            _extremes(names, [a + b for a, b in zip(fire, rescue, strict=True)]),
            ticks,
            [
                Series(figure_label("fire"), fire, charts.RED),
                Series(figure_label("rescue"), rescue, charts.LIGHT_BLUE),
            ],
            years=years,
        ),
    ]


def kind_charts(review: Review) -> list[Markup]:
    """Tips by kind with their valuable part, and the teams' own items by kind; none for a source
    without items (the table says so)."""
    drawn = []
    tips = review.tip_kinds
    if tips:
        labels = [k.label for k in tips]
        items = [k.items for k in tips]
        drawn.append(
            charts.bar_chart(
                "kinds-tips",
                _("Tin báo theo loại, trong đó tin có giá trị"),
                _extremes(labels, items),
                labels,
                [
                    Series(figure_label("tips"), items, charts.LIGHT_BLUE),
                    Series(figure_label("valuable"), [k.valuable for k in tips], charts.DARK_BLUE),
                ],
                note=_("Số bên phải: tin có giá trị / tổng số tin."),
            )
        )
    team = review.team_kinds
    if team:
        labels = [k.label for k in team]
        items = [k.items for k in team]
        drawn.append(
            charts.bar_chart(
                "kinds-team",
                _("Sự việc các tổ ghi nhận theo loại"),
                _extremes(labels, items),
                labels,
                [Series(_("Số vụ"), items, charts.GREEN)],
            )
        )
    return drawn


def unit_chart(review: Review, key: str = "patrols") -> Markup | None:
    """One figure by commune of the city (or team of a commune), highest first; the city's
    top UNITS_SHOWN only, with a note that the table has them all."""
    if not review.units:
        return None
    rows = sorted(review.units, key=lambda u: -(u.figures.value(key) or 0))  # stable: names next
    city = review.place.level == "city"
    summary = _extremes([u.name for u in rows], [u.figures.value(key) or 0 for u in rows])
    note = ""
    if city and len(rows) > UNITS_SHOWN:
        note = _(
            "{n} xã, phường cao nhất trong {t}; bảng dưới có đủ {t} xã, phường.",
            n=UNITS_SHOWN,
            t=thousands(len(rows)),
        )
        rows = rows[:UNITS_SHOWN]
    labels = [u.name for u in rows]
    values = [u.figures.value(key) or 0 for u in rows]
    title = (
        _("{f} theo xã, phường", f=figure_label(key))
        if city
        else _("{f} theo tổ", f=figure_label(key))
    )
    return charts.bar_chart(
        "units",
        title,
        summary,
        labels,
        [Series(figure_label(key), values, charts.BLUE)],
        note=note,
    )
