"""Small server-rendered SVG charts (no JavaScript, no chart library).

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``
that reads out every number, so a screen reader gets the same facts; the
page also shows the numbers in a table next to it. Colours come from the
stylesheet (``.chart__*`` classes), so dark mode works.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from markupsafe import Markup, escape

from kudos.summary.services import TrendPoint, ValueCount

_ids = itertools.count(1)

TREND_SERIES = (
    ("share_sent", "sent kudos", "chart__line--sent"),
    ("share_received", "received kudos", "chart__line--received"),
    ("share_recognised_by_manager", "recognised by you", "chart__line--manager"),
)


def _percent(value: float | None) -> int:
    return round((value or 0) * 100)


def _month_label(point: TrendPoint) -> str:
    return datetime(point.month.year, point.month.month, 1).strftime("%b")


# Each chart is drawn twice: a wide layout and a narrow one, and the page
# shows the one that fits its box (``.chart-box``, a CSS container query), so
# that its labels are drawn at 12 px or more at any width: an SVG scales its
# text with it, and one drawing squeezed onto a phone had 7 px labels.
WIDE, NARROW = 460, 300


def _both(wide: str, narrow: str) -> Markup:
    return Markup(f'<div class="chart-box">{wide}{narrow}</div>')  # noqa: S704 - parts escaped


def trend_chart(trend: list[TrendPoint]) -> Markup:
    """Six months of the shares of the team who sent, who received, and
    whom the manager recognised, as lines from 0 to 100 %."""
    return _both(
        _trend_svg(trend, width=WIDE, height=220, layout="wide"),
        _trend_svg(trend, width=NARROW, height=200, layout="narrow"),
    )


def _trend_svg(trend: list[TrendPoint], *, width: int, height: int, layout: str) -> str:
    chart_id = f"trend-{next(_ids)}"
    left, right, top, bottom = 42, 14, 14, 32
    inner_w, inner_h = width - left - right, height - top - bottom
    step = inner_w / max(len(trend) - 1, 1)

    def x(index: int) -> float:
        return left + index * step

    def y(percent: int) -> float:
        return top + inner_h * (1 - percent / 100)

    described = "; ".join(
        f"{point.month}: "
        + ", ".join(f"{_percent(getattr(point, attr))}% {label}" for attr, label, _ in TREND_SERIES)
        for point in trend
    )
    parts = [
        f'<svg class="chart chart--trend" data-layout="{layout}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'preserveAspectRatio="xMidYMid meet">',
        f'<title id="{chart_id}-title">Share of the team over six months</title>',
        f'<desc id="{chart_id}-desc">{escape(described)}</desc>',
    ]
    for percent in (0, 50, 100):
        parts.append(
            f'<line class="chart__grid" x1="{left}" x2="{width - right}" '
            f'y1="{y(percent):.1f}" y2="{y(percent):.1f}"/>'
            f'<text class="chart__axis" x="{left - 6}" y="{y(percent) + 4:.1f}" '
            f'text-anchor="end">{percent}%</text>'
        )
    for index, point in enumerate(trend):
        parts.append(
            f'<text class="chart__axis" x="{x(index):.1f}" y="{height - 10}" '
            f'text-anchor="middle">{escape(_month_label(point))}</text>'
        )
    for attr, label, css in TREND_SERIES:
        points = [(x(i), y(_percent(getattr(p, attr)))) for i, p in enumerate(trend)]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<g class="{css}"><title>{escape(label)}</title>')
        parts.append(f'<polyline class="chart__line" points="{path}"/>')
        parts.extend(
            f'<circle class="chart__dot" cx="{px:.1f}" cy="{py:.1f}" r="3.5"/>' for px, py in points
        )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def values_chart(values: list[ValueCount]) -> Markup:
    """Recognitions per value received by the team, as horizontal bars:
    labels beside the bars when wide, above them when narrow."""
    return _both(_values_svg(values, layout="wide"), _values_svg(values, layout="narrow"))


def _values_svg(values: list[ValueCount], *, layout: str) -> str:
    chart_id = f"values-{next(_ids)}"
    wide = layout == "wide"
    width = WIDE if wide else NARROW
    # Wide: the label left of its bar. Narrow: the label on a line of its own.
    row, label_w, right = (30, 170, 36) if wide else (44, 0, 36)
    height = max(len(values), 1) * row + 8
    most = max((value.count for value in values), default=0) or 1
    bar_w = width - label_w - right
    described = (
        "; ".join(f"{value.name}: {value.count}" for value in values) or "No values this month."
    )
    parts = [
        f'<svg class="chart chart--values" data-layout="{layout}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">Values the team was recognised for</title>',
        f'<desc id="{chart_id}-desc">{escape(described)}</desc>',
    ]
    for index, value in enumerate(values):
        top = 4 + index * row
        length = max(bar_w * value.count / most, 2)
        label = f"{escape(value.emoji)} {escape(value.name)}"
        if wide:
            parts.append(
                f'<text class="chart__label" x="{label_w - 8}" y="{top + 19}" '
                f'text-anchor="end">{label}</text>'
            )
            bar_top = top + 5
        else:
            parts.append(f'<text class="chart__label" x="0" y="{top + 14}">{label}</text>')
            bar_top = top + 21
        parts.append(
            f'<rect class="chart__bar" x="{label_w}" y="{bar_top}" width="{length:.1f}" '
            f'height="{row - 12 if wide else 16}" rx="4"/>'
            f'<text class="chart__value" x="{label_w + length + 6:.1f}" y="{bar_top + 13}">'
            f"{value.count}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
