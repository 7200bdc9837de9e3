"""The usage chart as SVG: two bars a day (credits in, credits out), drawn on the server so the web app,
the public API and the printed report show the same picture with no script or chart library. Each bar is
stacked: credits in are purchased credits with promotional ones on top, credits out are those used or
moved with expired ones on top. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from services.reporting.usage.domain import DailyUsage

# A narrow canvas with large type: shrunk to a phone's width (about 320 pixels), its labels still read at
# about 10 pixels, and at a desktop's or a printed page's size they are ordinary text.
WIDTH, HEIGHT = 600, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 30, 44, 40
# Colours that stay apart in greyscale print, and a hatch on "out" so they differ without colour too:
# promotional credits are a pale green over the purchased dark green, expired ones a light grey over out.
IN_COLOUR, OUT_COLOUR = "#15803d", "#b45309"
PROMOTIONAL_COLOUR, EXPIRED_COLOUR = "#86efac", "#9ca3af"
# (label, swatch fill, x) of each legend entry; the fill may name the hatch pattern ({id}).
_LEGEND = (
    ("Purchased", IN_COLOUR, 20),
    ("Promotional", PROMOTIONAL_COLOUR, 150),
    ("Credits out", "url(#{id}-hatch)", 300),
    ("Expired", EXPIRED_COLOUR, 450),
)


def _ticks(top: int) -> list[int]:
    """0, half and a round ceiling: three labels stay readable on a phone."""
    if top <= 0:
        return [0]
    magnitude = 10 ** (len(str(top)) - 1)
    ceiling = -(-top // magnitude) * magnitude
    if ceiling % 2:
        ceiling += magnitude
    return [0, ceiling // 2, ceiling]


def _label(day: DailyUsage) -> str:
    return f"{day.day:%b} {day.day.day}"


def usage_svg(days: Sequence[DailyUsage], *, element_id: str = "usage-chart", inline: bool = False) -> str:
    """The chart of `days` (oldest first), with a <title> and <desc> naming it for screen readers.

    With nothing moved in the whole period it says so instead of drawing empty axes. `inline` for an
    HTML page, which needs no namespace (and the printed report names no outside address at all)."""
    total_in = sum(d.credits_in for d in days)
    total_out = sum(d.credits_out for d in days)
    title = f"Credits in and out per day, last {len(days)} days"
    if days:
        desc = (
            f"From {days[0].day.isoformat()} to {days[-1].day.isoformat()}: "
            f"{total_in:,} credits in ({sum(d.purchased_in for d in days):,} purchased, "
            f"{sum(d.promotional_in for d in days):,} promotional) and {total_out:,} credits out "
            f"({sum(d.expired for d in days):,} of them expired)."
        )
    else:
        desc = "No days in this period."
    namespace = "" if inline else ' xmlns="http://www.w3.org/2000/svg"'
    parts = [
        f'<svg{namespace} viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'class="usage-chart" aria-labelledby="{element_id}-title {element_id}-desc" '
        'preserveAspectRatio="xMidYMid meet" font-family="Arial, Helvetica, sans-serif" font-size="19">',
        f'<title id="{element_id}-title">{escape(title)}</title>',
        f'<desc id="{element_id}-desc">{escape(desc)}</desc>',
        f'<defs><pattern id="{element_id}-hatch" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="4" height="4" fill="{OUT_COLOUR}"/>'
        '<line x1="0" y1="0" x2="0" y2="4" stroke="#ffffff" stroke-width="1.2"/></pattern></defs>',
    ]
    if total_in == 0 and total_out == 0:
        parts.append(
            f'<text x="{WIDTH / 2:g}" y="{HEIGHT / 2:g}" text-anchor="middle" fill="#374151" font-size="22" '
            f'class="usage-empty">No credits moved in the last {len(days)} days</text>'
        )
        parts.append("</svg>")
        return "".join(parts)
    parts.extend(_legend(element_id))
    parts.extend(_bars(days, element_id))
    parts.append("</svg>")
    return "".join(parts)


def _legend(element_id: str) -> list[str]:
    entries = "".join(
        f'<rect x="{x}" y="8" width="18" height="18" fill="{fill.format(id=element_id)}"/>'
        f'<text x="{x + 24}" y="24">{label}</text>'
        for label, fill, x in _LEGEND
    )
    return [f'<g class="usage-legend">{entries}</g>']


def _bars(days: Sequence[DailyUsage], element_id: str) -> list[str]:
    ticks = _ticks(max(max(d.credits_in, d.credits_out) for d in days))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h
    scale = plot_h / ticks[-1]
    parts = []
    for tick in ticks:
        y = base - tick * scale
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d1d5db"/>'
            f'<text class="usage-tick" x="{_LEFT - 6}" y="{y + 6:.1f}" text-anchor="end">{tick:,}</text>'
        )
    slot = plot_w / len(days)
    bar = max(slot * 0.38, 1.0)
    # A label every week (and the last day): thirty labels would overlap on a phone.
    labelled = {i for i in range(len(days) - 1, -1, -7)}
    for i, day in enumerate(days):
        x = _LEFT + i * slot + slot * 0.1
        parts.append(
            f'<g class="usage-day" data-date="{day.day.isoformat()}" data-in="{day.credits_in}" '
            f'data-out="{day.credits_out}" data-promotional="{day.promotional_in}" data-expired="{day.expired}">'
            + _stack(x, bar, base, scale, [("usage-in", day.purchased_in, IN_COLOUR),
                                           ("usage-promotional", day.promotional_in, PROMOTIONAL_COLOUR)])
            + _stack(x + bar, bar, base, scale, [("usage-out", day.out_not_expired, f"url(#{element_id}-hatch)"),
                                                 ("usage-expired", day.expired, EXPIRED_COLOUR)])
            + "</g>"
        )
        if i in labelled:
            parts.append(
                f'<text class="usage-date" x="{x + bar:.1f}" y="{base + 26}" text-anchor="middle">'
                f"{escape(_label(day))}</text>"
            )
    parts.append(f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{base}" y2="{base}" stroke="#374151"/>')
    return parts


def _stack(x: float, width: float, base: float, scale: float, series: list[tuple[str, int, str]]) -> str:
    """One bar of (class, credits, fill) pieces, the first at the bottom: the bar is as tall as their sum."""
    rects, bottom = [], float(base)
    for name, value, fill in series:
        height = value * scale
        rects.append(f'<rect class="{name}" x="{x:.1f}" y="{bottom - height:.1f}" width="{width:.1f}" '
                     f'height="{height:.1f}" fill="{fill}"/>')
        bottom -= height
    return "".join(rects)
