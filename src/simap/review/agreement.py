"""Agreement between coders (human or machine) and against gold labels.

Every venture x code pair is one binary decision. Scores are computed per code and pooled over
all decisions: precision, recall, F1, Cohen's kappa and Krippendorff's alpha (nominal).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simap.errors import InvalidInput, NotFound


@dataclass
class AgreementReport:
    per_code: pd.DataFrame  # code_id, support, predicted, tp, fp, fn, precision, recall, f1, kappa
    pooled: dict[str, float]
    n_items: int
    codes: list[str]
    missing: list[str] = field(default_factory=list)  # gold ids not found among the coded ventures
    reference: str = ""  # what the scores are measured against, e.g. "gold file gold.jsonl"
    compared: str = ""  # who is measured, e.g. "machine suggestions (zeroshot:minilm...)"
    warnings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """One line saying who was compared with what."""
        if self.reference and self.compared:
            return f"Agreement of {self.compared} with {self.reference}"
        return "Agreement"

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "compared": self.compared,
            "warnings": self.warnings,
            "n_items": self.n_items,
            "codes": self.codes,
            "pooled": self.pooled,
            "per_code": self.per_code.to_dict("records"),
            "missing": self.missing,
        }


def coded_records(path: str | Path, *, what: str = "gold file") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a JSONL file of ``{"id": ..., "codes": [...], ...}`` lines, validated:
    a non-empty id and a list of code ids; blank lines are skipped."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{what} {str(path)!r} does not exist.", hint="check the path")
    shape = 'each line must be {"id": ..., "codes": [...]}'
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    f"not valid JSON ({exc.msg}).", source=str(path), line=lineno, hint=shape
                ) from None
            if not isinstance(rec, dict) or not str(rec.get("id") or "").strip():
                raise InvalidInput(
                    "expected an object with a non-empty 'id'.",
                    source=str(path),
                    line=lineno,
                    field="id",
                    hint=shape,
                )
            codes = rec.get("codes", [])
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise InvalidInput(
                    f"'codes' must be a list of code ids; got {codes!r}.",
                    source=str(path),
                    line=lineno,
                    field="codes",
                    hint='write e.g. "codes": ["B2", "DP4"]',
                )
            yield lineno, rec


def load_gold(path: str | Path) -> dict[str, set[str]]:
    """Gold labels: JSONL lines ``{"id": ..., "codes": [...]}`` (other keys are ignored)."""
    return {str(rec["id"]).strip(): set(rec.get("codes", [])) for _, rec in coded_records(path)}


def _binary_kappa(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(bool)
    b = b.astype(bool)
    n = a.size
    if n == 0:
        return float("nan")
    po = float((a == b).mean())
    pa, pb = a.mean(), b.mean()
    pe = float(pa * pb + (1 - pa) * (1 - pb))
    if pe >= 1.0:
        # both coders gave one answer only (e.g. neither ever used the code): kappa is undefined,
        # not a perfect 1.00
        return float("nan")
    return (po - pe) / (1 - pe)


def _alpha(a: np.ndarray, b: np.ndarray) -> float:
    import krippendorff

    data = np.vstack([a.ravel(), b.ravel()]).astype(float)
    if np.unique(data).size < 2:
        return 1.0
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def compare(
    reference: Mapping[str, Iterable[str]],
    other: Mapping[str, Iterable[str]],
    codes: list[str],
    *,
    items: list[str] | None = None,
) -> AgreementReport:
    """Agreement of ``other`` with ``reference`` over ``items`` (default: the reference's ids)."""
    ids = list(items) if items is not None else list(reference)
    missing = [i for i in ids if i not in other]
    ids = [i for i in ids if i in other]
    col = {c: j for j, c in enumerate(codes)}
    a = np.zeros((len(ids), len(codes)), dtype=np.int8)
    b = np.zeros_like(a)
    for i, vid in enumerate(ids):
        for c in reference.get(vid, ()):
            if c in col:
                a[i, col[c]] = 1
        for c in other.get(vid, ()):
            if c in col:
                b[i, col[c]] = 1
    rows = []
    for j, code in enumerate(codes):
        x, y = a[:, j], b[:, j]
        tp = int(((x == 1) & (y == 1)).sum())
        fp = int(((x == 0) & (y == 1)).sum())
        fn = int(((x == 1) & (y == 0)).sum())
        p, r, f = _prf(tp, fp, fn)
        rows.append(
            {
                "code_id": code,
                "support": int(x.sum()),
                "predicted": int(y.sum()),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": p,
                "recall": r,
                "f1": f,
                "kappa": _binary_kappa(x, y),
            }
        )
    per_code = pd.DataFrame(rows)
    tp, fp, fn = int(per_code["tp"].sum()), int(per_code["fp"].sum()), int(per_code["fn"].sum())
    p, r, f = _prf(tp, fp, fn)
    pooled = {
        "precision": p,
        "recall": r,
        "f1": f,
        "kappa": _binary_kappa(a.ravel(), b.ravel()),
        "alpha": _alpha(a, b) if a.size else float("nan"),
        "macro_f1": float(per_code.loc[per_code["support"] > 0, "f1"].mean()) if len(per_code) else 0.0,
        "agreement": float((a == b).mean()) if a.size else float("nan"),
    }
    return AgreementReport(per_code=per_code, pooled=pooled, n_items=len(ids), codes=codes, missing=missing)


def identical(reference: Mapping[str, Iterable[str]], other: Mapping[str, Iterable[str]]) -> bool:
    """True when ``other`` makes exactly the decisions of ``reference`` on every item both code
    (and they share at least one item): the two are most likely the same data."""
    common = set(reference) & set(other)
    return bool(common) and all(set(reference[i]) == set(other[i]) for i in common)
