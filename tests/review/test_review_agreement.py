from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from simap.errors import InvalidInput
from simap.review.agreement import compare, load_gold


def test_pooled_scores_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    codes = ["A", "B", "C"]
    ids = [f"v{i}" for i in range(60)]
    gold = {v: {c for c in codes if rng.random() < 0.3} for v in ids}
    pred = {v: {c for c in codes if (c in gold[v]) == (rng.random() < 0.8)} for v in ids}
    rep = compare(gold, pred, codes)
    y_true = np.array([[c in gold[v] for c in codes] for v in ids]).ravel()
    y_pred = np.array([[c in pred[v] for c in codes] for v in ids]).ravel()
    assert rep.pooled["kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred))
    assert rep.pooled["f1"] == pytest.approx(f1_score(y_true, y_pred))
    assert rep.n_items == 60 and rep.missing == []
    # Krippendorff's alpha for two coders on binary data is close to kappa
    assert rep.pooled["alpha"] == pytest.approx(rep.pooled["kappa"], abs=0.02)


def test_perfect_agreement_and_missing_items() -> None:
    gold = {"a": {"X"}, "b": set(), "c": {"Y"}}
    rep = compare(gold, {"a": {"X"}, "b": set()}, ["X", "Y"])
    assert rep.pooled["f1"] == 1.0 and rep.pooled["kappa"] == 1.0
    assert rep.missing == ["c"]
    per = rep.per_code.set_index("code_id")
    assert per.loc["X", "tp"] == 1 and per.loc["Y", "support"] == 0


def test_load_gold_errors_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(
        json.dumps({"id": "a", "codes": ["X"]}) + "\n" + json.dumps({"id": "b", "codes": "X"}) + "\n"
    )
    with pytest.raises(InvalidInput) as err:
        load_gold(path)
    assert "gold.jsonl" in str(err.value) and "line 2" in str(err.value) and "codes" in str(err.value)
    path.write_text("{not json\n")
    with pytest.raises(InvalidInput, match="line 1"):
        load_gold(path)
