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


# -- evaluate against gold: what is compared (issue 12 item 2) ------------------------------------
@pytest.fixture
def gold_imported(tmp_path: Path):
    from simap.demo import GOLD_PATH, VENTURES_PATH
    from simap.pipeline import Project

    proj = Project.open(tmp_path / "p.db")
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    proj.import_codes(Path(str(GOLD_PATH)), coder="gold")  # the gold file, imported as a coder
    yield proj, Path(str(GOLD_PATH))
    proj.close()


def test_evaluate_compares_the_machine_not_the_imported_gold(gold_imported) -> None:
    proj, gold = gold_imported
    rep = proj.evaluate(gold)
    assert rep.compared.startswith("machine suggestions (zeroshot:fake")
    assert rep.reference == "gold file gold.jsonl"
    assert rep.pooled["kappa"] < 0.99  # before: 1.000, the gold agreeing with itself
    assert rep.warnings == []
    assert rep.to_dict()["compared"] == rep.compared


def test_evaluate_refuses_a_coder_imported_from_the_gold_file(gold_imported, tmp_path: Path) -> None:
    proj, gold = gold_imported
    with pytest.raises(InvalidInput, match="imported from the gold file"):
        proj.evaluate(gold, coder="gold")
    copy = tmp_path / "copy.jsonl"  # same content under another name: still the same data
    copy.write_bytes(gold.read_bytes())
    with pytest.raises(InvalidInput, match="imported from the gold file"):
        proj.evaluate(copy, coder="gold")
    rep = proj.evaluate(gold, coder="gold", allow_same=True)
    assert rep.pooled["kappa"] == 1.0 and "same data" in rep.warnings[0]


def test_evaluate_unknown_coder_lists_the_known_ones(gold_imported) -> None:
    from simap.errors import NotFound

    proj, gold = gold_imported
    with pytest.raises(NotFound, match="gold"):
        proj.evaluate(gold, coder="nobody")


def test_evaluate_between_two_coders(gold_imported) -> None:
    proj, _ = gold_imported
    rep = proj.agreement_between("gold", "machine")
    assert rep.reference == "coder 'gold'" and rep.compared.startswith("machine suggestions")
    assert rep.n_items >= 35 and rep.pooled["kappa"] < 0.99
    with pytest.raises(InvalidInput, match="twice"):
        proj.agreement_between("gold", "gold")


def test_cli_evaluate_says_what_it_compares(gold_imported) -> None:
    from typer.testing import CliRunner

    from simap.cli import app

    proj, gold = gold_imported
    db = str(proj.store.path)
    runner = CliRunner()
    out = runner.invoke(app, ["evaluate", "-p", db, "--gold", str(gold)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "Agreement of machine suggestions" in " ".join(out.output.split())
    out = runner.invoke(app, ["evaluate", "-p", db, "--between", "gold", "machine", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["reference"] == "coder 'gold'"
    out = runner.invoke(app, ["evaluate", "-p", db, "--gold", str(gold), "--coder", "gold"])
    assert out.exit_code != 0 and "imported from the gold file" in str(out.exception)


def test_a_code_nobody_used_has_no_kappa_not_a_perfect_one() -> None:
    gold = {"a": {"X"}, "b": set(), "c": {"X"}}
    pred = {"a": {"X"}, "b": set(), "c": set()}
    rep = compare(gold, pred, ["X", "UNUSED"])
    per = rep.per_code.set_index("code_id")
    assert np.isnan(per.loc["UNUSED", "kappa"])  # was 1.00: agreement on never using a code
    assert per.loc["X", "kappa"] == pytest.approx(cohen_kappa_score([1, 0, 1], [1, 0, 0]))
