"""The review queue: which ventures a reviewer should look at next.

``review_queue`` orders ventures by how much a human decision on them would teach the machine
coder: uncertainty (suggestions whose score is close to the decision point), diversity across
codes, and disagreement between coders. It is the one place the CLI review loop, the web
workbench and the active-learning loop take their order from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simap.codebook.schema import Codebook
from simap.store import repo
from simap.store.db import Store


def review_queue(
    store: Store, codebook: Codebook, *, n: int = 20, reviewer: str | None = None
) -> pd.DataFrame:
    """The ``n`` ventures to review next: columns venture_id, priority, code_id (most uncertain), reason.

    Ventures that ``reviewer`` (or, when None, any human) already decided on are left out.
    """
    a = repo.load_assignments(store, codebook)
    if a.empty:
        return pd.DataFrame(columns=["venture_id", "priority", "code_id", "reason"])
    human = a[a["source"] == "human"]
    if reviewer is not None:
        human = human[human["coder"] == reviewer]
    done = set(human["venture_id"])
    machine = a[(a["source"] == "machine") & ~a["venture_id"].isin(done)].copy()
    if machine.empty:
        return pd.DataFrame(columns=["venture_id", "priority", "code_id", "reason"])
    score = machine["score"].astype(float).to_numpy()
    machine["uncertainty"] = 1.0 - np.abs(score - 0.5) * 2.0
    # a suggestion the coder abstained on (simap code --precision) is asked about first
    machine["abstained"] = (machine["status"] == "abstained").to_numpy()
    machine["uncertainty"] += machine["abstained"].astype(float)
    # disagreement: humans disagree among themselves on this venture x code
    disputed = (
        a[a["source"] == "human"].groupby(["venture_id", "code_id"])["status"].nunique().loc[lambda s: s > 1]
    )
    machine["disputed"] = [
        (v, c) in disputed.index for v, c in zip(machine["venture_id"], machine["code_id"], strict=True)
    ]
    best = machine.sort_values("uncertainty", ascending=False).groupby("venture_id", sort=False).head(1)
    # diversity: round-robin over the most uncertain code of each venture
    best = best.assign(rank=best.groupby("code_id").cumcount())
    best["priority"] = best["uncertainty"] + best["disputed"].astype(float) - 0.01 * best["rank"]
    best = best.sort_values("priority", ascending=False).head(n)
    best["reason"] = [
        f"{c}: machine score {s:.2f}"
        + (" (the machine abstained)" if ab else "")
        + (" (coders disagree)" if d else "")
        for c, s, d, ab in zip(
            best["code_id"], best["score"], best["disputed"], best["abstained"], strict=True
        )
    ]
    return best[["venture_id", "priority", "code_id", "reason"]].reset_index(drop=True)
