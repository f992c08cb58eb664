"""Landscape statistics over a ventures x codes matrix: prevalence, co-occurrence, evidence quotes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact

from simap.batches import ASSIGNMENT_COLUMNS
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput
from simap.maps.geo import COUNTRY_COLUMNS, country_table
from simap.maps.select import code_matrix, effective_codes, evidence_list, venture_table

Z95 = 1.959963984540054
PREVALENCE_COLUMNS = ["code_id", "kind", "name", "n", "share", "ci_low", "ci_high"]
COOCCURRENCE_COLUMNS = ["row", "col", "n_both", "n_row", "n_col", "lift", "p_value", "q_value"]
QUOTE_COLUMNS = ["code_id", "venture_id", "venture_name", "score", "status", "field", "text"]


def wilson_interval(n: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of the proportion ``n / total``; (0, 1) when ``total`` is 0."""
    if total <= 0:
        return 0.0, 1.0
    p = n / total
    z2 = z * z
    denom = 1.0 + z2 / total
    center = (p + z2 / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def _check_matrix(matrix: pd.DataFrame, codebook: Codebook) -> None:
    missing = [c for c in codebook.ids() if c not in matrix.columns]
    if missing:
        raise InvalidInput(
            f"the code matrix has no column for active code(s) {missing} of codebook {codebook.name!r}.",
            hint="build the matrix with simap.maps.select.code_matrix using the same codebook",
        )


def _kind_ids(codebook: Codebook, kind: str) -> list[str]:
    ids = codebook.ids(kind)
    if not ids:
        kinds = sorted({c.kind for c in codebook.active_codes})
        raise InvalidInput(
            f"codebook {codebook.name!r} has no active code of kind {kind!r}; its kinds are {kinds}.",
            field="kind",
            hint="pass one of the kinds listed",
        )
    return ids


def prevalence(matrix: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Per active code (codebook order): n ventures, share and its Wilson 95% interval."""
    _check_matrix(matrix, codebook)
    total = len(matrix)
    rows: list[dict[str, Any]] = []
    for code in codebook.active_codes:
        n = int(matrix[code.id].sum())
        low, high = wilson_interval(n, total)
        rows.append(
            {
                "code_id": code.id,
                "kind": code.kind,
                "name": code.name,
                "n": n,
                "share": n / total if total else 0.0,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows, columns=PREVALENCE_COLUMNS)


def cooccurrence(
    matrix: pd.DataFrame,
    codebook: Codebook,
    rows_kind: str = "design_principle",
    cols_kind: str = "barrier",
) -> pd.DataFrame:
    """Long-form co-occurrence of codes of ``rows_kind`` with codes of ``cols_kind``.

    ``lift = P(both) / (P(row) P(col))`` (NaN when either code never occurs);
    ``p_value`` is the one-sided (``alternative="greater"``) Fisher exact test of the 2x2 table;
    ``q_value`` the Benjamini-Hochberg adjusted p-value over all the pairs of the table (a link
    with ``q_value < 0.05`` is significant at a 5% false discovery rate).
    """
    _check_matrix(matrix, codebook)
    row_ids, col_ids = _kind_ids(codebook, rows_kind), _kind_ids(codebook, cols_kind)
    total = len(matrix)
    a = matrix[row_ids].to_numpy(dtype=np.int64)
    b = matrix[col_ids].to_numpy(dtype=np.int64)
    both = a.T @ b
    n_row, n_col = a.sum(axis=0), b.sum(axis=0)
    out: list[dict[str, Any]] = []
    for i, r in enumerate(row_ids):
        for j, c in enumerate(col_ids):
            nb, nr, nc = int(both[i, j]), int(n_row[i]), int(n_col[j])
            lift = nb * total / (nr * nc) if nr and nc else float("nan")
            if total:
                table = [[nb, nr - nb], [nc - nb, total - nr - nc + nb]]
                p_value = float(fisher_exact(table, alternative="greater")[1])
            else:
                p_value = 1.0
            out.append(
                {"row": r, "col": c, "n_both": nb, "n_row": nr, "n_col": nc, "lift": lift, "p_value": p_value}
            )
    frame = pd.DataFrame(out, columns=COOCCURRENCE_COLUMNS)
    frame["q_value"] = bh_adjust(frame["p_value"].to_numpy(dtype=float)) if len(frame) else []
    return frame


def bh_adjust(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), NaN kept as NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return out


def cooccurrence_table(
    matrix: pd.DataFrame,
    codebook: Codebook,
    rows_kind: str = "design_principle",
    cols_kind: str = "barrier",
) -> pd.DataFrame:
    """Wide co-occurrence counts: rows are ``rows_kind`` codes, columns ``cols_kind`` codes."""
    _check_matrix(matrix, codebook)
    row_ids, col_ids = _kind_ids(codebook, rows_kind), _kind_ids(codebook, cols_kind)
    counts = matrix[row_ids].to_numpy(dtype=np.int64).T @ matrix[col_ids].to_numpy(dtype=np.int64)
    return pd.DataFrame(counts, index=pd.Index(row_ids, name="row"), columns=pd.Index(col_ids, name="col"))


def evidence_quotes(
    present: pd.DataFrame, ventures: pd.DataFrame, codebook: Codebook, *, per_code: int = 3
) -> pd.DataFrame:
    """Top ``per_code`` quotes per active code: the best evidence sentence of the highest-scoring
    present assignments (one quote per venture; assignments without evidence text are skipped)."""
    names = dict(zip(ventures["id"].astype(str), ventures["name"], strict=True))
    active = set(codebook.ids())
    known = present[present["code_id"].isin(active) & present["venture_id"].isin(names.keys())]
    if known.empty:
        return pd.DataFrame(columns=QUOTE_COLUMNS)
    ranked = known.assign(_s=known["score"].astype(float).fillna(-1.0)).sort_values(
        ["code_id", "_s", "venture_id"], ascending=[True, False, True], kind="stable"
    )
    taken: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for rec in ranked.itertuples(index=False):
        code_id = str(rec.code_id)
        if taken.get(code_id, 0) >= per_code:
            continue
        texts = [e for e in evidence_list(rec.evidence) if str(e.get("text") or "").strip()]
        if not texts:
            continue
        best = texts[0]
        score = float(rec.score) if rec.score is not None and not pd.isna(rec.score) else float("nan")
        rows.append(
            {
                "code_id": code_id,
                "venture_id": str(rec.venture_id),
                "venture_name": str(names[str(rec.venture_id)]),
                "score": score,
                "status": str(rec.status),
                "field": best.get("field"),
                "text": str(best["text"]).strip(),
            }
        )
        taken[code_id] = taken.get(code_id, 0) + 1
    order = {cid: i for i, cid in enumerate(codebook.ids())}
    frame = pd.DataFrame(rows, columns=QUOTE_COLUMNS)
    frame["_o"] = frame["code_id"].map(order)
    return frame.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


@dataclass
class LandscapeMap:
    """Everything a map view or report needs, computed once by :func:`build_map`.

    ``present`` holds the resolved ASSIGNMENTS rows that count as present (scores, status,
    evidence per cell); ``cooccurrence`` is empty when the codebook lacks one of the two kinds.
    """

    ventures: pd.DataFrame
    matrix: pd.DataFrame
    present: pd.DataFrame
    prevalence: pd.DataFrame
    cooccurrence: pd.DataFrame
    quotes: pd.DataFrame
    min_score: float
    include_suggestions: bool
    rows_kind: str = "design_principle"
    cols_kind: str = "barrier"
    codebook_name: str = ""
    codebook_version: str = ""
    kinds: list[str] = field(default_factory=list)
    countries: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COUNTRY_COLUMNS))
    """One row per venture x named country (:func:`simap.maps.geo.country_table`)."""

    @property
    def n_ventures(self) -> int:
        return len(self.matrix)

    @property
    def n_coded(self) -> int:
        """Ventures with at least one present code."""
        return int((self.matrix.sum(axis=1) > 0).sum()) if self.matrix.shape[1] else 0

    @property
    def share_coded(self) -> float:
        return self.n_coded / self.n_ventures if self.n_ventures else 0.0

    def quotes_for(self, code_id: str) -> list[dict[str, Any]]:
        return list(self.quotes[self.quotes["code_id"] == code_id].to_dict("records"))


def build_map(
    ventures: pd.DataFrame,
    assignments: pd.DataFrame,
    codebook: Codebook,
    *,
    min_score: float = 0.5,
    include_suggestions: bool = True,
    rows_kind: str = "design_principle",
    cols_kind: str = "barrier",
    quotes_per_code: int = 3,
) -> LandscapeMap:
    """Resolve assignments, build the matrix and compute every statistic of the landscape map."""
    table = venture_table(ventures)
    present = effective_codes(assignments, min_score=min_score, include_suggestions=include_suggestions)
    active = set(codebook.ids())
    present = present[present["code_id"].isin(active) & present["venture_id"].isin(set(table["id"]))]
    present = present.reset_index(drop=True)[ASSIGNMENT_COLUMNS]
    matrix = code_matrix(table, present, codebook)
    if codebook.ids(rows_kind) and codebook.ids(cols_kind):
        cooc = cooccurrence(matrix, codebook, rows_kind, cols_kind)
    else:
        cooc = pd.DataFrame(columns=COOCCURRENCE_COLUMNS)
    kinds = list(dict.fromkeys(c.kind for c in codebook.active_codes))
    return LandscapeMap(
        ventures=table,
        matrix=matrix,
        present=present,
        prevalence=prevalence(matrix, codebook),
        cooccurrence=cooc,
        quotes=evidence_quotes(present, table, codebook, per_code=quotes_per_code),
        min_score=float(min_score),
        include_suggestions=include_suggestions,
        rows_kind=rows_kind,
        cols_kind=cols_kind,
        codebook_name=codebook.name,
        codebook_version=codebook.version,
        kinds=kinds,
        countries=country_table(ventures.assign(id=ventures["id"].astype(str))),
    )
