"""Inline SVG for networks (precomputed spring layout, hover titles, neighbour highlight in JS)
and for trends over time (one line per code)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import pandas as pd
from markupsafe import Markup, escape

from simap.maps.network import spring_positions

COMMUNITY_COLOURS = (
    "#2563eb",
    "#db2777",
    "#16a34a",
    "#ea580c",
    "#7c3aed",
    "#0891b2",
    "#ca8a04",
    "#dc2626",
    "#4d7c0f",
    "#9333ea",
)
OTHER = "#94a3b8"
KIND_COLOURS = {"design_principle": "#2563eb", "barrier": "#ea580c", "challenge": "#16a34a"}


def _e(value: object) -> str:
    return str(escape(str(value)))


def _open(width: int, height: int, label: str, desc: str, cls: str = "") -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{_e(label)}" '
        f'style="max-width:{width}px" font-family="system-ui, sans-serif" font-size="11"'
        + (f' class="{cls}"' if cls else "")
        + f"><title>{_e(label)}</title><desc>{_e(desc)}</desc>"
    )


def network_svg(
    graph: nx.Graph,
    *,
    label: str,
    desc: str,
    width: int = 900,
    height: int = 560,
    seed: int = 0,
    labels: bool = False,
    colour_by: str = "community",
) -> Markup:
    """Nodes coloured by ``colour_by`` (community index or code kind), sized by weighted degree;
    every node has a hover title; ``data-n`` lists neighbours for the report's highlight script."""
    pos = spring_positions(graph, seed=seed)
    pad = 28
    degree = dict(graph.degree(weight="weight"))
    top = max(degree.values(), default=1.0) or 1.0
    weights = [float(d.get("weight", 1.0)) for _, _, d in graph.edges(data=True)]
    wmax = max(weights, default=1.0) or 1.0

    def xy(n: str) -> tuple[float, float]:
        x, y = pos[str(n)]
        return pad + x * (width - 2 * pad), pad + (1 - y) * (height - 2 * pad)

    out = [_open(width, height, label, desc, "network")]
    out.append('<g class="edges" stroke="#94a3b8">')
    for a, b, d in graph.edges(data=True):
        (x1, y1), (x2, y2) = xy(a), xy(b)
        w = float(d.get("weight", 1.0)) / wmax
        out.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke-width="{0.4 + 2.2 * w:.2f}" '
            f'stroke-opacity="{0.25 + 0.5 * w:.2f}" data-a="{_e(a)}" data-b="{_e(b)}"/>'
        )
    out.append('</g><g class="nodes">')
    for n, d in graph.nodes(data=True):
        x, y = xy(n)
        r = (
            3.0 + 9.0 * math.sqrt(degree.get(n, 0.0) / top)
            if not labels
            else 8
            + 14
            * math.sqrt(
                float(d.get("n", 0)) / max(1.0, max(float(v.get("n", 0)) for _, v in graph.nodes(data=True)))
            )
        )
        if colour_by == "kind":
            fill = KIND_COLOURS.get(str(d.get("kind")), OTHER)
        else:
            c = int(d.get("community", -1))
            fill = COMMUNITY_COLOURS[c] if 0 <= c < len(COMMUNITY_COLOURS) else OTHER
        tip = str(d.get("label", n))
        extra = [
            f"codes: {d['codes']}" if d.get("codes") else "",
            f"{d.get('country')}" if d.get("country") else "",
        ]
        if "community" in d:
            extra.append(f"community {int(d['community']) + 1}")
        if "n" in d:
            extra.append(f"{d['n']} ventures")
        tip = " · ".join([tip, *[e for e in extra if e]])
        nbrs = " ".join(_e(m) for m in graph.neighbors(n))
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#fff" stroke-width="1" '
            f'data-id="{_e(n)}" data-n="{nbrs}"><title>{_e(tip)}</title></circle>'
        )
        if labels:
            out.append(
                f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-weight="bold" fill="#fff" '
                f'pointer-events="none">{_e(n)}</text>'
            )
    out.append("</g></svg>")
    return Markup("".join(out))


def _year_step(years: list[int], plot_width: float, label_px: float = 40.0) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 years whose tick labels do not overlap."""
    span = max(1, years[-1] - years[0])
    for step in (1, 2, 5, 10, 20, 50):
        if span / step * label_px <= plot_width:
            return step
    return 100


def trend_chart(shares: pd.DataFrame, names: Mapping[str, str], *, label: str, width: int = 900) -> Markup:
    """Lines of the share of ventures per year (``shares``: group=year, code_id, share, n_group).

    The legend sits below the plot with every code's full name (two columns, one when a name is
    long); year labels are thinned so they never overlap."""
    data = shares[shares["group"].astype(str).str.fullmatch(r"\d{4}")].copy()
    if data.empty:
        return Markup("")
    data["year"] = data["group"].astype(int)
    years = sorted(data["year"].unique())
    plot_h, left, right, top, bottom = 300, 48, 20, 16, 30
    ymax = max(0.1, math.ceil(float(data["share"].max()) * 10) / 10)
    x0, x1 = left, width - right
    span = max(1, years[-1] - years[0])
    codes = list(dict.fromkeys(data["code_id"].astype(str)))
    entries = [f"{cid} {names.get(cid, '')}".strip() for cid in codes]
    columns = 1 if max(len(e) for e in entries) * 7 > (width - left) / 2 - 24 else 2
    rows = -(-len(entries) // columns)
    height = plot_h + 10 + rows * 18

    def px(year: int) -> float:
        return x0 + (year - years[0]) / span * (x1 - x0) if len(years) > 1 else (x0 + x1) / 2

    def py(v: float) -> float:
        return top + (1 - v / ymax) * (plot_h - top - bottom)

    desc = "; ".join(
        f"{cid}: " + ", ".join(f"{r.year} {r.share:.0%}" for r in g.itertuples())
        for cid, g in data.groupby("code_id")
    )
    out = [_open(width, height, label, desc)]
    for k in range(5):
        v = ymax * k / 4
        out.append(
            f'<line x1="{x0}" x2="{x1}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#e2e8f0"/>'
            f'<text x="{x0 - 6}" y="{py(v) + 4:.1f}" text-anchor="end" fill="#64748b">{v:.0%}</text>'
        )
    step = _year_step(years, x1 - x0)
    ticks = [y for y in range(years[0], years[-1] + 1) if y % step == 0] or [years[0]]
    for y in ticks:
        out.append(f'<text x="{px(y):.1f}" y="{plot_h - 10}" text-anchor="middle" fill="#64748b">{y}</text>')
    col_w = (width - left) / columns
    for i, cid in enumerate(codes):
        g = data[data["code_id"].astype(str) == cid]
        colour = COMMUNITY_COLOURS[i % len(COMMUNITY_COLOURS)]
        g = g.sort_values("year")
        pts = " ".join(f"{px(int(r.year)):.1f},{py(float(r.share)):.1f}" for r in g.itertuples())
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in g.itertuples():
            out.append(
                f'<circle cx="{px(int(r.year)):.1f}" cy="{py(float(r.share)):.1f}" r="3" fill="{colour}">'
                f"<title>{_e(cid)} {int(r.year)}: {r.share:.1%} of {int(r.n_group)} ventures</title></circle>"
            )
        lx = left + (i % columns) * col_w
        ly = plot_h + 10 + (i // columns) * 18
        out.append(
            f'<rect x="{lx:.1f}" y="{ly + 4}" width="14" height="4" fill="{colour}"/>'
            f'<text x="{lx + 20:.1f}" y="{ly + 10}" fill="#0f172a">{_e(entries[i])}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


__all__ = ["COMMUNITY_COLOURS", "network_svg", "trend_chart"]
