"""How much of a map humans checked, and how often they agreed with the machine.

:func:`review_summary` reads ASSIGNMENTS (all rows, machine and human) and reports: machine
suggestions, venture x code cells a human decided, the share of the map's present codes that a
human accepted, and, on the cells with both a machine score and a human decision, the agreement
of "machine score >= min_score" with "human accepted" (percent agreement and Cohen's kappa).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simap.maps.select import present_mask, resolve_assignments


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0:
        return float("nan")
    po = float((a == b).mean())
    pa, pb = float(a.mean()), float(b.mean())
    pe = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if pe >= 1.0 else (po - pe) / (1 - pe)


def review_summary(
    assignments: pd.DataFrame, *, min_score: float, include_suggestions: bool
) -> dict[str, Any]:
    frame = assignments.copy()
    machine = frame[frame["source"].astype(str) == "machine"]
    human = frame[(frame["source"].astype(str) == "human") & frame["status"].isin(["accepted", "rejected"])]
    resolved = resolve_assignments(frame) if len(frame) else frame
    n_present = 0
    n_present_human = 0
    if len(resolved):
        mask = present_mask(resolved, min_score=min_score, include_suggestions=include_suggestions)
        present = resolved[mask]
        n_present = len(present)
        keys = set(zip(human["venture_id"].astype(str), human["code_id"].astype(str), strict=True))
        n_present_human = sum(
            (str(v), str(c)) in keys for v, c in zip(present["venture_id"], present["code_id"], strict=True)
        )
    scores = machine.groupby(["venture_id", "code_id"])["score"].max()
    decided = human.drop_duplicates(["venture_id", "code_id"], keep="last").set_index(
        ["venture_id", "code_id"]
    )
    both = decided.index.intersection(scores.index)
    m = (scores.loc[both].to_numpy(dtype=float) >= min_score).astype(int)
    h = (decided.loc[both, "status"] == "accepted").to_numpy().astype(int)
    return {
        "machine_suggestions": len(machine),
        "human_decisions": len(decided),
        "present_codes": int(n_present),
        "present_reviewed": int(n_present_human),
        "share_reviewed": n_present_human / n_present if n_present else 0.0,
        "compared_cells": len(both),
        "agreement": float((m == h).mean()) if len(both) else float("nan"),
        "kappa": _kappa(m, h),
    }


__all__ = ["review_summary"]
