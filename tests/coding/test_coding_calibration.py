from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.coding.calibration import (
    Calibrator,
    apply_precision,
    brier_score,
    precision_thresholds,
    recall_at_precision,
    reliability,
    reliability_svg,
)
from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.errors import InvalidInput, NotFitted
from simap.pipeline import Project
from simap.review.queue import review_queue
from simap.store import repo


def _synthetic(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Margins whose true P(y) is sigmoid(2 * margin - 1): an uncalibrated sigmoid(margin)."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, size=(n, 2))
    p = 1 / (1 + np.exp(-(2 * margin - 1)))
    y = (rng.random((n, 2)) < p).astype(np.int8)
    return margin, y


def test_platt_calibration_improves_brier_and_is_monotone() -> None:
    margin, y = _synthetic()
    cal = Calibrator.fit(["A", "B"], margin, y, min_positives=10)
    assert cal.per_code == [True, True]
    assert 1.5 < cal.a[0] < 2.6 and -1.5 < cal.b[0] < -0.5  # recovers the true slope and shift
    prob = cal.transform(margin)
    raw = 1 / (1 + np.exp(-margin))
    assert brier_score(prob, y) < brier_score(raw, y)
    order = np.argsort(margin[:, 0])
    assert np.all(np.diff(prob[order, 0]) >= 0)
    assert set(cal.to_dict()) == {"A", "B"}


def test_rare_codes_share_one_scaling_and_unknowns_are_ignored() -> None:
    margin, y = _synthetic(200)
    y[:, 1] = 0
    y[:3, 1] = 1
    y[10:20, 0] = -1  # no decision
    cal = Calibrator.fit(["A", "B"], margin, y, min_positives=10)
    assert cal.per_code == [True, False]
    assert cal.a[1] == pytest.approx(cal.a[1]) and np.isfinite(cal.transform(margin)).all()


def test_precision_thresholds_and_recall_at_precision() -> None:
    scores = np.array([[0.95], [0.9], [0.85], [0.8], [0.6], [0.55], [0.3], [0.2]])
    targets = np.array([[1], [1], [1], [0], [1], [0], [0], [1]])
    thr = precision_thresholds(scores, targets, ["A"], 0.75)
    # top 3 all right (1.0), top 4 0.75, top 5 0.8, top 6 0.67: the lowest cut meeting 0.75 is 0.6
    assert thr == {"A": 0.6}
    assert precision_thresholds(scores, targets, ["A"], 0.99) == {"A": 0.85}
    never = precision_thresholds(np.array([[0.9], [0.8]]), np.array([[0], [0]]), ["A"], 0.8)
    assert never == {"A": float("inf")}
    table = recall_at_precision(scores, targets, ["A"], 0.75)
    assert table.loc[0, "precision"] == pytest.approx(0.8) and table.loc[0, "recall"] == pytest.approx(0.8)
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        precision_thresholds(scores, targets, ["A"], 1.5)


def test_reliability_table_and_svg() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(2000)
    y = rng.random(2000) < p  # calibrated by construction
    table = reliability(p, y, bins=10)
    assert table["n"].sum() == 2000 and table.attrs["ece"] < 0.05
    assert table.attrs["brier"] == pytest.approx(brier_score(p, y))
    svg = reliability_svg(table, title="<b>test</b>")
    assert svg.startswith("<svg") and "&lt;b&gt;" in svg and "ECE" in svg


def test_apply_precision_marks_unsure_suggestions() -> None:
    sugg = pd.DataFrame(
        {"venture_id": ["a", "b", "c", "d"], "code_id": ["A", "A", "A", "B"], "score": [0.9, 0.6, 0.1, 0.95]}
    )
    out = apply_precision(sugg, {"A": 0.7, "B": float("inf")})
    assert out["status"].tolist() == ["suggested", "abstained", "suggested", "abstained"]


@pytest.fixture
def trained(project_path: Path):
    proj = Project.open(project_path)
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    proj.import_codes(Path(str(GOLD_PATH)), coder="gold")
    proj.train(embedder="fake", params={"folds": 3, "calibrate": True})
    yield proj
    proj.close()


def test_trained_coder_is_calibrated_and_codes_to_a_target_precision(trained: Project) -> None:
    from simap.coding.training import load_trained

    coder, _ = load_trained(trained.store, trained.current_codebook())
    assert coder.calibration_ is not None and 0 <= coder.cv_["brier"] <= 1
    assert coder.oof_scores_.shape == coder.oof_targets_.shape
    result = trained.code(coder="supervised", precision=0.8)
    a = repo.load_assignments(trained.store, trained.current_codebook())
    machine = a[a["source"] == "machine"]
    run = machine[machine["coder"].str.startswith("supervised:")]
    assert result.abstained == int((run["status"] == "abstained").sum()) > 0
    # abstained suggestions never count on the map and head the review queue
    present = trained.present_codes(codebook=trained.current_codebook())
    for v, c in zip(
        run.loc[run["status"] == "abstained", "venture_id"],
        run.loc[run["status"] == "abstained", "code_id"],
        strict=True,
    ):
        human = a[(a["source"] == "human") & (a["venture_id"] == v) & (a["code_id"] == c)]
        if human.empty:
            assert c not in present.get(v, set())
    q = review_queue(trained.store, trained.current_codebook(), n=3, reviewer="someone-new")
    assert q["reason"].str.contains("abstained").all()
    run_params = repo.get_run(trained.store, result.run_id).params
    assert run_params["precision_target"] == 0.8 and set(run_params["precision_thresholds"]) == set(
        trained.current_codebook().ids()
    )


def test_decision_scores_by_default_with_calibration_data(project_path: Path) -> None:
    from simap.coding.training import load_trained

    with Project.open(project_path) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        proj.code(embedder="fake")
        proj.import_codes(Path(str(GOLD_PATH)), coder="gold")
        proj.train(embedder="fake", params={"folds": 3})
        coder, _ = load_trained(proj.store, proj.current_codebook())
        assert getattr(coder, "calibration_", None) is None and coder.oof_scores_ is not None
        assert proj.code(coder="supervised", precision=0.8).abstained >= 0


def test_precision_needs_a_calibrated_coder(project_path: Path) -> None:
    with Project.open(project_path) as proj:
        proj.import_path(Path(str(VENTURES_PATH)))
        with pytest.raises(InvalidInput, match="calibrated coder"):
            proj.code(embedder="fake", precision=0.8)


def test_supervised_without_oof_refuses_precision(tiny_codebook, fake_embedder) -> None:
    from simap.coding.supervised import SupervisedCoder

    coder = SupervisedCoder(fake_embedder).fit(tiny_codebook)
    with pytest.raises(NotFitted, match="calibration data"):
        coder.precision_thresholds(0.8)


def test_cli_code_precision(trained: Project, project_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["code", "--project", str(project_path), "--coder", "supervised", "--precision", "0.8"]
    )
    assert r.exit_code == 0, r.output
    assert "left for review" in r.output


def test_cli_evaluate_writes_reliability_diagrams(
    trained: Project, project_path: Path, tmp_path: Path
) -> None:
    chart = tmp_path / "rel.svg"
    r = CliRunner().invoke(
        app, ["evaluate", "--project", str(project_path), "--gold", str(GOLD_PATH), "--chart", str(chart)]
    )
    assert r.exit_code == 0, r.output
    assert chart.read_text().startswith("<svg") and "Brier" in r.output
    curve = tmp_path / "curve.svg"
    r = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--project",
            str(project_path),
            "--cv",
            "3",
            "--embedder",
            "fake",
            "--chart",
            str(curve),
        ],
    )
    assert r.exit_code == 0, r.output
    assert curve.exists() and (tmp_path / "curve-reliability.svg").read_text().startswith("<svg")
    assert "brier" in r.output
