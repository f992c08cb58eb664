"""Choropleth world maps as inline SVG (offline; geometry and projection in :mod:`simap.maps.world`).

:func:`choropleth` draws one static map (used in the PDF and for exported charts);
:func:`interactive_choropleth` draws one map plus a JSON table of fills per series, which a few
lines of vanilla JS in the report swap when the reader picks a pattern.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from simap.maps.world import world_shapes

PALETTE = ("#dbeafe", "#93c5fd", "#3b82f6", "#1d4ed8", "#1e3a8a")
NO_DATA = "#eef2f6"
STROKE = "#ffffff"


def _e(value: object) -> str:
    return str(escape(str(value)))


@dataclass
class Series:
    """Values per alpha-3 code, the colour classes and a hover text per country."""

    key: str
    label: str
    values: dict[str, float]
    titles: dict[str, str]
    breaks: list[float]

    def fill(self, iso: str) -> str:
        v = self.values.get(iso, 0.0)
        if not v or math.isnan(v):
            return NO_DATA
        for i, b in enumerate(self.breaks):
            if v <= b:
                return PALETTE[i]
        return PALETTE[-1]


def class_breaks(values: Sequence[float], n: int = len(PALETTE)) -> list[float]:
    """Upper bounds of up to ``n`` classes of the positive values (quantiles, integer-rounded when
    the values are counts); the last bound is the maximum."""
    pos = sorted(v for v in values if v and not math.isnan(v))
    if not pos:
        return [1.0]
    integer = all(float(v).is_integer() for v in pos)
    bounds: list[float] = []
    for k in range(1, n + 1):
        q = pos[min(len(pos) - 1, math.ceil(k * len(pos) / n) - 1)]
        q = float(math.ceil(q)) if integer else round(q, 3)
        if not bounds or q > bounds[-1]:
            bounds.append(q)
    return bounds


def make_series(
    key: str, label: str, values: Mapping[str, float], titles: Mapping[str, str] | None = None
) -> Series:
    vals = {k: float(v) for k, v in values.items() if k}
    return Series(key, label, vals, dict(titles or {}), class_breaks(list(vals.values())))


def _legend(series: Series, x: float, y: float, unit: str) -> str:
    out = [f'<g class="legend" transform="translate({x:.0f},{y:.0f})">']
    out.append(f'<text x="0" y="-6" font-size="11" fill="#334155">{_e(unit)}</text>')
    lo = 0.0
    for i, b in enumerate(series.breaks):
        integer = float(b).is_integer() and float(lo).is_integer()
        if integer:
            first = int(lo) + 1
            text = f"{first}" if first >= int(b) else f"{first}–{int(b)}"
        else:
            text = f"≤ {b:g}"
        out.append(
            f'<rect x="{i * 58}" y="0" width="56" height="10" fill="{PALETTE[i]}"/>'
            f'<text x="{i * 58}" y="23" font-size="10" fill="#334155">{_e(text)}</text>'
        )
        lo = b
    k = len(series.breaks)
    out.append(
        f'<rect x="{k * 58 + 8}" y="0" width="22" height="10" fill="{NO_DATA}" stroke="#cbd5e1"/>'
        f'<text x="{k * 58 + 8}" y="23" font-size="10" fill="#334155">none</text></g>'
    )
    return "".join(out)


def _map_body(series: Series, width: int, with_ids: bool) -> tuple[list[str], float]:
    world = world_shapes(width)
    out: list[str] = [f'<rect width="{world.width:.0f}" height="{world.height:.0f}" fill="#f8fafc"/>']
    for iso, shape in world.shapes.items():
        title = series.titles.get(iso) or f"{shape.name}: none"
        ident = f' data-iso="{iso}"' if with_ids else ""
        fill = series.fill(iso)
        if shape.path:
            out.append(
                f'<path{ident} d="{shape.path}" fill="{fill}" stroke="{STROKE}" stroke-width="0.5">'
                f"<title>{_e(title)}</title></path>"
            )
        elif shape.dot and iso in series.values and series.values[iso]:
            cx, cy = shape.dot
            out.append(
                f'<circle{ident} cx="{cx}" cy="{cy}" r="3.2" fill="{fill}" stroke="#1e293b" '
                f'stroke-width="0.6"><title>{_e(title)}</title></circle>'
            )
    return out, world.height


def choropleth(series: Series, *, label: str, desc: str, unit: str = "ventures", width: int = 960) -> Markup:
    """One static map of ``series``: darker = more; hover titles; a class legend below."""
    body, height = _map_body(series, width, with_ids=False)
    total_h = height + 46
    head = (
        f'<svg viewBox="0 0 {width} {total_h:.0f}" width="100%" role="img" aria-label="{_e(label)}" '
        f'style="max-width:{width}px" font-family="system-ui, sans-serif">'
        f"<title>{_e(label)}</title><desc>{_e(desc)}</desc>"
    )
    return Markup(head + "".join(body) + _legend(series, 10, height + 18, unit) + "</svg>")


def interactive_choropleth(
    series: Sequence[Series], *, label: str, desc: str, unit: str = "ventures", width: int = 960
) -> tuple[Markup, str]:
    """The first series drawn, plus JSON ``{key: {"fills": {iso: fill}, "titles": {...},
    "legend": svg}}`` for every series, for the report's map switcher."""
    first = series[0]
    svg = choropleth_with_ids(first, label=label, desc=desc, unit=unit, width=width)
    world = world_shapes(width)
    table = {}
    for s in series:
        table[s.key] = {
            "fills": {iso: s.fill(iso) for iso in world.shapes},
            "titles": {iso: s.titles.get(iso) or f"{sh.name}: none" for iso, sh in world.shapes.items()},
            "legend": _legend(s, 10, world.height + 18, unit),
        }
    return svg, json.dumps(table, ensure_ascii=False).replace("</", "<\\/")


def choropleth_with_ids(series: Series, *, label: str, desc: str, unit: str, width: int) -> Markup:
    body, height = _map_body(series, width, with_ids=True)
    world = world_shapes(width)
    # every country with a dot gets a circle so that JS can colour it for any series
    drawn = {iso for iso, s in world.shapes.items() if s.path or (series.values.get(iso))}
    for iso, shape in world.shapes.items():
        if iso not in drawn and shape.dot:
            cx, cy = shape.dot
            body.append(
                f'<circle data-iso="{iso}" cx="{cx}" cy="{cy}" r="3.2" fill="{NO_DATA}" stroke="#94a3b8" '
                f'stroke-width="0.4"><title>{_e(shape.name)}: none</title></circle>'
            )
    total_h = height + 46
    head = (
        f'<svg viewBox="0 0 {width} {total_h:.0f}" width="100%" role="img" aria-label="{_e(label)}" '
        f'style="max-width:{width}px" font-family="system-ui, sans-serif" class="worldmap">'
        f"<title>{_e(label)}</title><desc>{_e(desc)}</desc>"
    )
    legend = f'<g class="legend-slot">{_legend(series, 10, height + 18, unit)}</g>'
    return Markup(head + "".join(body) + legend + "</svg>")


__all__ = ["PALETTE", "Series", "choropleth", "class_breaks", "interactive_choropleth", "make_series"]
