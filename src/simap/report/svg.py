"""Inline SVG charts for the HTML report, generated as escaped markup (no JS, no external files).

Every chart is an ``<svg role="img">`` with an ``aria-label``, a ``<title>`` and a ``<desc>``;
every piece of text is escaped with :func:`markupsafe.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from markupsafe import Markup, escape

FONT = 'font-family="system-ui, sans-serif"'
ACCENT = (37, 99, 235)  # bars, positive association
COOL = (148, 163, 184)  # lift below 1
NEUTRAL = (241, 245, 249)


def _e(value: object) -> str:
    return str(escape(str(value)))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return f"rgb({r},{g},{bl})"


def _nice_max(value: float) -> float:
    """Axis maximum: ``value`` rounded up to a tenth (at least 0.1, at most 1)."""
    if math.isnan(value) or value <= 0:
        return 0.1
    return min(1.0, math.ceil(value * 10 - 1e-9) / 10)


def _tick(v: float) -> str:
    pct = v * 100
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:.1f}%"


def _svg_open(width: int, height: int, label: str, desc: str) -> list[str]:
    return [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{_e(label)}" '
        f'preserveAspectRatio="xMinYMin meet" style="max-width:{width}px" {FONT} font-size="12">',
        f"<title>{_e(label)}</title><desc>{_e(desc)}</desc>",
    ]


def prevalence_chart(prev: pd.DataFrame, *, label: str) -> Markup:
    """Horizontal bars of the share of ventures per code, with 95% interval whiskers."""
    label_w, bar_w, value_w, row_h, top = 250, 380, 120, 24, 26
    width = label_w + bar_w + value_w
    height = top + row_h * max(len(prev), 1) + 8
    scale_max = _nice_max(float(prev["ci_high"].max()) if len(prev) else 0.0)
    desc = "; ".join(
        f"{r.code_id} {r.name}: {r.n} ventures ({r.share:.1%}, 95% CI {r.ci_low:.1%}–{r.ci_high:.1%})"
        for r in prev.itertuples(index=False)
    )
    out = _svg_open(width, height, label, desc or "no codes")
    for k in range(5):
        v = scale_max * k / 4
        x = label_w + bar_w * k / 4
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 8}" stroke="#e2e8f0"/>'
            f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle" fill="#64748b">{_tick(v)}</text>'
        )

    def px(v: float) -> float:
        return label_w + bar_w * min(v, scale_max) / scale_max

    for i, r in enumerate(prev.itertuples(index=False)):
        y = top + i * row_h
        name = _short(f"{r.code_id} {r.name}", 38)
        tip = f"{r.code_id} {r.name}: {r.n} ventures, {r.share:.1%} (95% CI {r.ci_low:.1%}–{r.ci_high:.1%})"
        out.append(
            f"<g><title>{_e(tip)}</title>"
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="#0f172a">{_e(name)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{px(r.share) - label_w:.1f}" height="14" '
            f'fill="{_mix(NEUTRAL, ACCENT, 1)}" rx="2"/>'
            f'<line x1="{px(r.ci_low):.1f}" y1="{y + 12}" x2="{px(r.ci_high):.1f}" y2="{y + 12}" '
            f'stroke="#0f172a" stroke-width="1.5"/>'
            f'<line x1="{px(r.ci_low):.1f}" y1="{y + 8}" x2="{px(r.ci_low):.1f}" y2="{y + 16}" '
            f'stroke="#0f172a"/>'
            f'<line x1="{px(r.ci_high):.1f}" y1="{y + 8}" x2="{px(r.ci_high):.1f}" y2="{y + 16}" '
            f'stroke="#0f172a"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 16}" fill="#0f172a">{r.share:.1%} (n={r.n})</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def lift_colour(lift: float) -> str:
    """Fill for a lift value: neutral at 1, blue above (saturating at 3), grey below."""
    if math.isnan(lift):
        return "#f8fafc"
    if lift >= 1:
        return _mix(NEUTRAL, ACCENT, (lift - 1) / 2)
    return _mix(NEUTRAL, COOL, 1 - lift)


def cooccurrence_heatmap(
    cooc: pd.DataFrame, names: dict[str, str], *, label: str, rows: Sequence[str], cols: Sequence[str]
) -> Markup:
    """Grid of row x column codes: count of ventures with both codes, lift below; colour = lift."""
    left, top, cell_w, cell_h = 70, 40, 96, 52
    width = left + cell_w * len(cols) + 10
    height = top + cell_h * len(rows) + 10
    cells = {(str(r.row), str(r.col)): r for r in cooc.itertuples(index=False)}
    desc = "; ".join(
        f"{r.row} with {r.col}: {r.n_both} ventures, lift "
        f"{'n/a' if math.isnan(r.lift) else f'{r.lift:.2f}'}, p={r.p_value:.3g}"
        for r in cooc.itertuples(index=False)
    )
    out = _svg_open(width, height, label, desc or "no co-occurrence")
    for j, c in enumerate(cols):
        x = left + j * cell_w + cell_w / 2
        out.append(
            f'<text x="{x:.1f}" y="{top - 12}" text-anchor="middle" font-weight="bold">'
            f"<title>{_e(c)} {_e(names.get(c, ''))}</title>{_e(c)}</text>"
        )
    for i, r in enumerate(rows):
        y = top + i * cell_h
        out.append(
            f'<text x="{left - 10}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end" font-weight="bold">'
            f"<title>{_e(r)} {_e(names.get(r, ''))}</title>{_e(r)}</text>"
        )
        for j, c in enumerate(cols):
            rec = cells.get((r, c))
            if rec is None:
                continue
            x = left + j * cell_w
            lift = float(rec.lift)
            strong = not math.isnan(lift) and lift >= 2.2
            ink = "#ffffff" if strong else "#0f172a"
            lift_s = "–" if math.isnan(lift) else f"×{lift:.2f}"
            q = float(getattr(rec, "q_value", rec.p_value))
            sig = " *" if q < 0.05 and rec.n_both > 0 else ""
            tip = (
                f"{r} {names.get(r, '')} × {c} {names.get(c, '')}: {rec.n_both} ventures with both "
                f"({rec.n_row} with {r}, {rec.n_col} with {c}); lift {lift_s}; Fisher p = {rec.p_value:.3g}, "
                f"FDR q = {q:.3g}"
            )
            out.append(
                f"<g><title>{_e(tip)}</title>"
                f'<rect x="{x + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}" rx="3" '
                f'fill="{lift_colour(lift)}" stroke="#cbd5e1"/>'
                f'<text x="{x + cell_w / 2:.1f}" y="{y + 22}" text-anchor="middle" font-size="15" '
                f'font-weight="bold" fill="{ink}">{rec.n_both}{sig}</text>'
                f'<text x="{x + cell_w / 2:.1f}" y="{y + 40}" text-anchor="middle" fill="{ink}">'
                f"{_e(lift_s)}</text></g>"
            )
    out.append("</svg>")
    return Markup("".join(out))
