"""Which codes count as present: resolve stored assignments into one decision per venture x code.

Rules (``effective_codes``):

* a venture x code can have several ASSIGNMENTS rows (a machine suggestion, one or more human
  decisions); the *decisive* row is chosen by priority, highest first:
  human accept/reject > machine accept/reject > human suggestion > machine suggestion;
  among rows of equal priority the later row in the frame wins (frames are in insertion order);
* accepted codes always count, rejected codes never;
* suggestions count only when ``include_suggestions`` and ``score >= min_score``;
* a decisive row without a score or evidence (a human decision usually has none) keeps the score
  and evidence of the machine suggestion for the same venture x code, so maps can still shade
  the cell and quote the sentence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from simap.batches import ASSIGNMENT_COLUMNS, VENTURE_COLUMNS, empty
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected

# "abstained": a machine suggestion the coder was not sure enough of to count (simap code --precision)
STATUSES = ("suggested", "accepted", "rejected", "abstained")
_KEYS = ["venture_id", "code_id"]


def evidence_list(value: Any) -> list[dict[str, Any]]:
    """Normalise a stored evidence value (list, array, JSON text, None/NaN) to a list of dicts."""
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [{"text": value}]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, Iterable):
        return [dict(item) for item in value if isinstance(item, dict)]
    return []


def check_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(
            expected(f"the {name} frame", f"a DataFrame with columns {columns}", list(frame.columns)),
            hint=f"add the missing column(s) {missing}; see simap.batches for the column contracts",
        )


def check_ventures(ventures: pd.DataFrame) -> None:
    check_columns(ventures, ["id", "name"], "VENTURES")
    dupes = ventures["id"][ventures["id"].duplicated()].astype(str).unique().tolist()
    if dupes:
        raise InvalidInput(
            f"venture ids must be unique; {len(dupes)} id(s) repeat, e.g. {dupes[:5]}.",
            field="id",
            hint="de-duplicate the ventures before mapping",
        )


def check_min_score(min_score: float) -> None:
    if not isinstance(min_score, int | float) or not 0.0 <= float(min_score) <= 1.0:
        raise InvalidInput(
            expected("min_score", "a number between 0 and 1", min_score),
            field="min_score",
            hint="pass e.g. min_score=0.5",
        )


def resolve_assignments(assignments: pd.DataFrame) -> pd.DataFrame:
    """One decisive row per venture x code (ASSIGNMENTS columns), rejected rows included.

    Scores and evidence missing on the decisive row are filled from the other rows of the
    same venture x code (highest priority first).
    """
    check_columns(assignments, ASSIGNMENT_COLUMNS, "ASSIGNMENTS")
    if assignments.empty:
        return empty(ASSIGNMENT_COLUMNS)
    frame = assignments[ASSIGNMENT_COLUMNS].reset_index(drop=True).copy()
    bad = sorted(set(frame["status"].fillna("<missing>").astype(str)) - set(STATUSES))
    if bad:
        raise InvalidInput(
            expected("assignment status", f"one of {list(STATUSES)}", bad[0]),
            field="status",
            hint=f"fix the rows with status {bad}",
        )
    frame["venture_id"] = frame["venture_id"].astype(str)
    frame["code_id"] = frame["code_id"].astype(str)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    human = (frame["source"].astype(str) == "human").to_numpy().astype(int)
    decided = frame["status"].isin(["accepted", "rejected"]).to_numpy().astype(int)
    frame["_priority"] = decided * 2 + human
    frame["_order"] = np.arange(len(frame))
    ordered = frame.sort_values([*_KEYS, "_priority", "_order"], kind="stable")

    # highest-priority non-missing score per venture x code (GroupBy.last skips NaN)
    best_score = ordered.groupby(_KEYS, sort=False)["score"].last()
    best_evidence: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key_v, key_c, ev in zip(ordered["venture_id"], ordered["code_id"], ordered["evidence"], strict=True):
        items = evidence_list(ev)
        if items:
            best_evidence[(key_v, key_c)] = items

    decisive = ordered.drop_duplicates(_KEYS, keep="last").copy()
    keys = list(zip(decisive["venture_id"], decisive["code_id"], strict=True))
    decisive["score"] = best_score.reindex(pd.MultiIndex.from_tuples(keys, names=_KEYS)).to_numpy()
    decisive["evidence"] = [best_evidence.get(k, []) for k in keys]
    decisive = decisive.sort_values("_order", kind="stable")
    return decisive[ASSIGNMENT_COLUMNS].reset_index(drop=True)


def present_mask(resolved: pd.DataFrame, *, min_score: float, include_suggestions: bool) -> pd.Series:
    """Boolean mask over resolved rows: which count as present."""
    accepted = resolved["status"] == "accepted"
    if not include_suggestions:
        return accepted
    suggested = (resolved["status"] == "suggested") & (resolved["score"].astype(float) >= float(min_score))
    return accepted | suggested


def effective_codes(
    assignments: pd.DataFrame, *, min_score: float = 0.5, include_suggestions: bool = True
) -> pd.DataFrame:
    """Rows (ASSIGNMENTS columns) of every venture x code that counts as present."""
    check_min_score(min_score)
    resolved = resolve_assignments(assignments)
    if resolved.empty:
        return resolved
    mask = present_mask(resolved, min_score=min_score, include_suggestions=include_suggestions)
    return resolved[mask].reset_index(drop=True)


def code_matrix(ventures: pd.DataFrame, present: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Ventures x active codes, 0/1 ints; rows in ventures order, columns in codebook order.

    Present rows for ventures not in ``ventures`` or codes not active in the codebook are ignored.
    """
    check_ventures(ventures)
    check_columns(present, _KEYS, "present codes")
    ids = codebook.ids()
    row_index = pd.Index(ventures["id"].astype(str), name="venture_id")
    values = np.zeros((len(row_index), len(ids)), dtype=np.int64)
    if not present.empty:
        rows = row_index.get_indexer(present["venture_id"].astype(str))
        cols = pd.Index(ids).get_indexer(present["code_id"].astype(str))
        keep = (rows >= 0) & (cols >= 0)
        values[rows[keep], cols[keep]] = 1
    return pd.DataFrame(values, index=row_index, columns=pd.Index(ids))


def venture_table(ventures: pd.DataFrame) -> pd.DataFrame:
    """The id/name/country/sector/year columns of a VENTURES frame (missing optional columns as None)."""
    check_ventures(ventures)
    cols = [c for c in VENTURE_COLUMNS if c in ("id", "name", "country", "sector", "year")]
    out = pd.DataFrame({c: ventures[c] if c in ventures.columns else None for c in cols})
    out["id"] = out["id"].astype(str)
    return out.reset_index(drop=True)
