"""Calibrated scores, reliability and abstention for machine coders.

A coder's decision value (a margin) is turned into a probability by Platt scaling fitted on
*out-of-fold* decision values, so that a score of 0.8 means "about 8 in 10 such suggestions are
right" on ventures the model did not see. Codes with enough positives get their own scaling;
rarer codes share one fitted over all codes' margins (their margins are on one scale: each is
centred on its code's threshold).

With the calibration data kept (out-of-fold probabilities and the human answers), the analyst can
ask for a target precision: :func:`precision_thresholds` gives, per code, the lowest score at
which the out-of-fold suggestions reach it; below it the machine abstains and leaves the venture x
code to a reviewer. A code that never reaches the target abstains everywhere.

:func:`reliability` and :func:`brier_score` measure calibration; :func:`reliability_svg` draws the
reliability diagram that ``simap evaluate --chart`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simap.errors import InvalidInput

MIN_PER_CODE_POSITIVES = 15


def _platt(margin: np.ndarray, y: np.ndarray, prior: float = 1.0) -> tuple[float, float]:
    """(a, b) of P(y) = sigmoid(a * margin + b), with Platt's target smoothing.

    ``prior`` adds a weak pull towards a = 1, b = 0 so that a handful of points cannot flip the
    slope.
    """
    from scipy.optimize import minimize

    m = np.asarray(margin, dtype=np.float64)
    yb = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(yb.sum()), int((~yb).sum())
    # Platt (1999): targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) instead of 1 and 0
    t = np.where(yb, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = p
        s = a * m + b
        q = 1.0 / (1.0 + np.exp(-np.clip(s, -30, 30)))
        value = float(np.sum(np.logaddexp(0.0, s) - t * s)) + prior / 2 * ((a - 1) ** 2 + b**2)
        g = q - t
        return value, np.array([g @ m + prior * (a - 1), g.sum() + prior * b])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    a, b = (float(v) for v in res.x)
    return max(a, 1e-3), b  # a calibrated score never falls as the margin grows


@dataclass
class Calibrator:
    """Per-code Platt scaling of margins (decision value minus the code's threshold)."""

    codes: list[str]
    a: np.ndarray = field(default_factory=lambda: np.ones(0))
    b: np.ndarray = field(default_factory=lambda: np.zeros(0))
    per_code: list[bool] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        codes: list[str],
        margin: np.ndarray,
        targets: np.ndarray,
        *,
        min_positives: int = MIN_PER_CODE_POSITIVES,
    ) -> Calibrator:
        """``margin`` and ``targets`` are (n, len(codes)); targets 1 / 0, -1 (or NaN margin) unknown."""
        margin = np.asarray(margin, dtype=np.float64)
        targets = np.asarray(targets)
        known = (targets >= 0) & np.isfinite(margin)
        if not known.any():
            return cls(codes, np.ones(len(codes)), np.zeros(len(codes)), [False] * len(codes))
        a0, b0 = _platt(margin[known], targets[known] == 1)
        a = np.full(len(codes), a0)
        b = np.full(len(codes), b0)
        own = [False] * len(codes)
        for j in range(len(codes)):
            k = known[:, j]
            y = targets[k, j] == 1
            if y.sum() >= min_positives and (~y).sum() >= min_positives:
                a[j], b[j] = _platt(margin[k, j], y)
                own[j] = True
        return cls(codes, a, b, own)

    def transform(self, margin: np.ndarray) -> np.ndarray:
        s = self.a[None, :] * np.asarray(margin, dtype=np.float64) + self.b[None, :]
        return 1.0 / (1.0 + np.exp(-np.clip(s, -30, 30)))

    def to_dict(self) -> dict[str, Any]:
        return {
            c: {"a": round(float(a), 5), "b": round(float(b), 5), "per_code": o}
            for c, a, b, o in zip(self.codes, self.a, self.b, self.per_code, strict=True)
        }


def precision_thresholds(
    scores: np.ndarray, targets: np.ndarray, codes: list[str], target: float, *, min_support: int = 3
) -> dict[str, float]:
    """code -> the lowest score whose suggestions (score >= it) reach ``target`` precision out of fold.

    Codes that never reach it (or have fewer than ``min_support`` positives among the suggestions
    above the cut) get ``inf``: the machine abstains on them everywhere.
    """
    if not 0.0 < target < 1.0:
        raise InvalidInput(
            f"a target precision must be between 0 and 1 (exclusive); got {target}.",
            field="precision",
            hint="for example --precision 0.8",
        )
    out: dict[str, float] = {}
    for j, code in enumerate(codes):
        k = (targets[:, j] >= 0) & np.isfinite(scores[:, j])
        s, y = scores[k, j], targets[k, j] == 1
        out[code] = float("inf")
        if y.sum() < min_support:
            continue
        order = np.argsort(-s, kind="stable")
        s, y = s[order], y[order]
        tp = np.cumsum(y)
        prec = tp / np.arange(1, len(y) + 1)
        # cut only between distinct scores; keep the lowest cut that still meets the target
        distinct = np.r_[s[1:] != s[:-1], True]
        ok = np.flatnonzero(distinct & (prec >= target) & (tp >= min_support))
        if len(ok):
            out[code] = float(s[ok.max()])
    return out


def recall_at_precision(
    scores: np.ndarray, targets: np.ndarray, codes: list[str], target: float = 0.8
) -> pd.DataFrame:
    """Per code: the threshold, precision and recall at the lowest cut reaching ``target`` precision.

    Measured on the same scores the thresholds come from (an in-sample figure); benches pass
    out-of-fold scores and, for an honest number, thresholds chosen on other folds.
    """
    thr = precision_thresholds(scores, targets, codes, target)
    rows = []
    for j, code in enumerate(codes):
        k = targets[:, j] >= 0
        y = targets[k, j] == 1
        p = scores[k, j] >= thr[code]
        tp = int((p & y).sum())
        rows.append(
            {
                "code_id": code,
                "positives": int(y.sum()),
                "threshold": thr[code],
                "precision": tp / p.sum() if p.sum() else float("nan"),
                "recall": tp / y.sum() if y.sum() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def brier_score(prob: np.ndarray, y: np.ndarray) -> float:
    prob = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    return float(np.mean((prob - y) ** 2)) if len(prob) else float("nan")


def reliability(prob: np.ndarray, y: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Reliability table: per score bin, its mean score, the observed share of positives and count.

    Also returns the expected calibration error (ECE) in ``frame.attrs["ece"]`` and the Brier
    score in ``frame.attrs["brier"]``.
    """
    prob = np.asarray(prob, dtype=np.float64).ravel()
    yv = np.asarray(y, dtype=np.float64).ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for i in range(bins):
        sel = idx == i
        n = int(sel.sum())
        mean_p = float(prob[sel].mean()) if n else float("nan")
        frac = float(yv[sel].mean()) if n else float("nan")
        if n:
            ece += n / len(prob) * abs(mean_p - frac)
        rows.append(
            {"bin_low": edges[i], "bin_high": edges[i + 1], "mean_score": mean_p, "observed": frac, "n": n}
        )
    frame = pd.DataFrame(rows)
    frame.attrs["ece"] = ece
    frame.attrs["brier"] = brier_score(prob, yv)
    return frame


def reliability_svg(
    table: pd.DataFrame, *, title: str = "Reliability", width: int = 420, height: int = 420
) -> str:
    """The reliability diagram as a self-contained SVG: observed share vs mean score per bin."""
    from html import escape

    pad = 48
    w, h = width - 2 * pad, height - 2 * pad

    def px(x: float) -> float:
        return pad + x * w

    def py(y: float) -> float:
        return pad + (1 - y) * h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
        f'<rect x="{pad}" y="{pad}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{px(t)}" y="{pad + h + 14}" text-anchor="middle">{t:.2f}</text>')
        parts.append(f'<text x="{pad - 6}" y="{py(t) + 4}" text-anchor="end">{t:.2f}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">mean machine score</text>')
    parts.append(
        f'<text x="12" y="{height / 2}" text-anchor="middle" transform="rotate(-90 12 {height / 2})">'
        "share accepted by the human coders</text>"
    )
    total = max(1, int(table["n"].sum()))
    pts = []
    for r in table.to_dict("records"):
        if not r["n"]:
            continue
        x, y = px(r["mean_score"]), py(r["observed"])
        pts.append(f"{x:.1f},{y:.1f}")
        radius = 2.5 + 9 * (r["n"] / total) ** 0.5
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="#3b6ea5" fill-opacity="0.6">'
            f"<title>{r['n']} suggestions, mean score {r['mean_score']:.2f}, "
            f"observed {r['observed']:.2f}</title></circle>"
        )
    if len(pts) > 1:
        parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="#3b6ea5"/>')
    ece, brier = table.attrs.get("ece"), table.attrs.get("brier")
    if ece is not None and brier is not None:
        parts.append(f'<text x="{pad + 6}" y="{pad + 16}">ECE {ece:.3f}  Brier {brier:.3f}  n {total}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


ABSTAIN_FLOOR = 0.2


def apply_precision(
    suggestions: pd.DataFrame, thresholds: dict[str, float], *, floor: float = ABSTAIN_FLOOR
) -> pd.DataFrame:
    """Mark the suggestions the coder is not sure enough of as ``abstained`` (left for review).

    A suggestion below its code's precision threshold but at or above ``floor`` (a plausible code)
    is abstained: it does not count on the map until a reviewer accepts it, and the review queue
    asks about it first. The others stay ``suggested``; scores are unchanged.
    """
    out = suggestions.copy()
    cut = out["code_id"].map(thresholds).fillna(float("inf")).to_numpy(dtype=np.float64)
    score = out["score"].to_numpy(dtype=np.float64)
    out["status"] = np.where((score < cut) & (score >= floor), "abstained", "suggested")
    return out
