from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.coding.supervised import SupervisedCoder, best_f1_threshold, offset_logistic
from simap.coding.training import (
    human_labels,
    last_train_finetuned,
    learning_curve,
    learning_curve_svg,
    load_trained,
)
from simap.coding.zeroshot import ZeroShotCoder
from simap.demo import GOLD_PATH, VENTURES_PATH
from simap.errors import InvalidInput, NotFound
from simap.ingest.segment import segment_documents
from simap.pipeline import Project
from simap.store import repo

DOCS = pd.DataFrame(
    [
        {"venture_id": f"v{i}", "field": "description", "text": text}
        for i, text in enumerate(
            [
                "Health workers collect survey data on mobile phones.",
                "A wiki anyone can edit.",
                "We sell shoes online.",
                "Field staff run surveys on tablets.",
                "Volunteers write openly licensed lessons.",
                "The app shows the weather.",
                "Enumerators do data collection offline.",
                "A shop for bicycles.",
            ]
        )
    ]
)

# which tiny-codebook codes each of DOCS' ventures has
TRUTH: dict[str, list[str]] = {
    "v0": ["DATA"],
    "v1": ["OPEN"],
    "v2": [],
    "v3": ["DATA"],
    "v4": ["OPEN"],
    "v5": [],
    "v6": ["DATA"],
    "v7": [],
}


def labels_for(ids: dict[str, list[str]], codes: list[str]) -> pd.DataFrame:
    rows = [(v, c, "accepted" if c in have else "rejected", []) for v, have in ids.items() for c in codes]
    return pd.DataFrame(rows, columns=["venture_id", "code_id", "status", "evidence"])


def test_best_f1_threshold() -> None:
    z = np.array([3.0, 2.0, 1.0, 0.0])
    t, f1 = best_f1_threshold(z, np.array([1, 1, 0, 0]))
    assert 1.0 < t < 2.0 and f1 == 1.0


def test_supervised_learns_and_records_cv(tiny_codebook, fake_embedder) -> None:
    seg = segment_documents(DOCS)
    truth = TRUTH
    labels = labels_for(truth, tiny_codebook.ids())
    coder = SupervisedCoder(fake_embedder, folds=2, min_positives=2).fit(
        tiny_codebook, segments=seg, labels=labels
    )
    assert coder.n_labels_ == 8 and coder.cv_["folds"] == 2
    out = coder.predict(seg)
    assert len(out) == 16 and out["score"].between(0, 1).all()
    json.dumps(coder.get_params())
    zero = SupervisedCoder(fake_embedder).fit(tiny_codebook, segments=seg, labels=labels.iloc[0:0])
    assert zero.n_labels_ == 0  # works from no label at all: the codebook prior


def test_offset_logistic_keeps_the_prior_and_learns() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = x[:, 0] > 0.5
    w, b = offset_logistic(x, np.zeros(60), y, l2=0.1, intercept_l2=0.1)
    assert w[0] > 1.0 and abs(w[0]) > 3 * max(abs(w[1]), abs(w[2]))
    # a strong penalty keeps the prior (w ~ 0); the offset is taken as given
    w, b = offset_logistic(x, np.where(y, 5.0, -5.0), y, l2=1e6, intercept_l2=1e6)
    assert np.abs(w).max() < 1e-3 and abs(b) < 1e-3


def test_stacked_coder_is_the_prior_without_labels_and_moves_with_them(tiny_codebook, fake_embedder) -> None:
    seg = segment_documents(DOCS)
    labels = labels_for(TRUTH, tiny_codebook.ids())
    zero = ZeroShotCoder(fake_embedder).fit(tiny_codebook).predict(seg)
    none = SupervisedCoder(fake_embedder, method="stack").fit(
        tiny_codebook, segments=seg, labels=labels.iloc[0:0]
    )
    pd.testing.assert_frame_equal(none.predict(seg), zero)
    coder = SupervisedCoder(fake_embedder, method="stack", folds=2, stack_l2=0.01).fit(
        tiny_codebook, segments=seg, labels=labels
    )
    assert coder.n_labels_ == 8 and coder.cv_["folds"] == 2 and "pooled_f1" in coder.cv_
    out = coder.predict(seg)
    assert len(out) == 16 and out["score"].between(0, 1).all()
    assert out.columns.tolist() == zero.columns.tolist() and out["evidence"].map(len).gt(0).all()
    # trained on these ventures with a weak penalty, it reproduces their labels
    got = {
        (v, c) for v, c, sc in zip(out["venture_id"], out["code_id"], out["score"], strict=True) if sc >= 0.5
    }
    assert got == {(v, c) for v, cs in TRUTH.items() for c in cs}
    assert coder.get_params()["method"] == "stack"


def test_blend_is_the_prior_without_enough_labels_and_learns_with_them(tiny_codebook, fake_embedder) -> None:
    seg = segment_documents(DOCS)
    labels = labels_for(TRUTH, tiny_codebook.ids())
    zero = ZeroShotCoder(fake_embedder).fit(tiny_codebook).predict(seg)
    default = SupervisedCoder(fake_embedder)
    assert default.method == "blend"
    few = default.fit(tiny_codebook, segments=seg, labels=labels)
    assert few.blend_ == {}  # 3 positives < blend_min_positives: the zero-shot decision
    pd.testing.assert_frame_equal(
        few.predict(seg)[["venture_id", "code_id"]], zero[["venture_id", "code_id"]]
    )
    assert ((few.predict(seg)["score"] >= 0.5) == (zero["score"] >= 0.5)).all()
    coder = SupervisedCoder(fake_embedder, folds=2, blend_min_positives=2).fit(
        tiny_codebook, segments=seg, labels=labels
    )
    assert set(coder.blend_) and coder.cv_["folds"] == 2 and coder.oof_scores_.shape == (8, 2)
    out = coder.predict(seg)
    assert len(out) == 16 and out["score"].between(0, 1).all() and out["evidence"].map(len).gt(0).all()
    assert coder.get_params()["blend_min_positives"] == 2


def test_retrain_method_and_hard_negatives(tiny_codebook, fake_embedder) -> None:
    seg = segment_documents(DOCS)
    labels = labels_for(TRUTH, tiny_codebook.ids())
    for negatives in ("all", "top"):
        coder = SupervisedCoder(
            fake_embedder, method="retrain", negatives=negatives, folds=2, min_positives=2
        ).fit(tiny_codebook, segments=seg, labels=labels)
        assert coder.cv_["folds"] == 2 and not hasattr(coder, "stack_w_")
        assert coder.predict(seg)["score"].between(0, 1).all()
    with pytest.raises(InvalidInput, match="method"):
        SupervisedCoder(fake_embedder, method="nope").fit(tiny_codebook, segments=seg, labels=labels)


def test_supervised_rejects_unknown_codes(tiny_codebook, fake_embedder) -> None:
    bad = pd.DataFrame(
        [("v0", "NOPE", "accepted", [])], columns=["venture_id", "code_id", "status", "evidence"]
    )
    with pytest.raises(InvalidInput, match="NOPE"):
        SupervisedCoder(fake_embedder).fit(tiny_codebook, segments=segment_documents(DOCS), labels=bad)


def test_learning_curve_and_chart(tiny_codebook, fake_embedder) -> None:
    seg = segment_documents(DOCS)
    truth = TRUTH
    curve = learning_curve(
        tiny_codebook, seg, labels_for(truth, tiny_codebook.ids()), fake_embedder, sizes=[0, 2, 6], folds=2
    )
    assert curve["labels"].tolist() == [0, 2, 4]  # capped at the training-fold size
    assert curve["kappa"].between(-1, 1).all()
    svg = learning_curve_svg(curve)
    assert svg.startswith("<svg") and "aria-label" in svg


@pytest.fixture
def demo(project_path: Path):
    proj = Project.open(project_path)
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    yield proj
    proj.close()


def test_import_codes_train_and_code_with_the_model(demo: Project, tmp_path: Path) -> None:
    stats = demo.import_codes(Path(str(GOLD_PATH)), coder="gold")
    assert stats.ventures >= 35 and stats.accepted > 50 and stats.evidence_located == stats.accepted
    labels = human_labels(demo.store, demo.current_codebook())
    assert set(labels["status"]) == {"accepted", "rejected"}
    result = demo.train(embedder="fake", params={"folds": 3})
    assert result.path.exists() and result.labels == stats.ventures and result.cv["folds"] == 3
    code = demo.code(coder="supervised")
    assert code.coder == f"supervised:{result.coder.split(':', 1)[1]}"
    a = demo.assignments(demo.current_codebook())
    assert a["coder"].str.startswith("supervised:").any()
    # CSV import of another coder, partial
    csv_path = tmp_path / "codes.csv"
    csv_path.write_text("venture,code,evidence\nushahidi,DP5,reports\nushahidi,B2,\n")
    s2 = demo.import_codes(csv_path, coder="ana", partial=True)
    assert (s2.accepted, s2.rejected) == (2, 0)
    assert repo.load_events(demo.store)["action"].tolist().count("human_codes_imported") >= stats.ventures


def test_import_codes_errors(demo: Project, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "ushahidi", "codes": ["DP9"]}) + "\n")
    with pytest.raises(InvalidInput) as err:
        demo.import_codes(bad, coder="ana")
    assert "bad.jsonl" in str(err.value) and "line 1" in str(err.value) and "DP9" in str(err.value)
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"id": "not-a-venture", "codes": []}) + "\n")
    with pytest.raises(InvalidInput, match="skip-missing"):
        demo.import_codes(missing, coder="ana")
    with pytest.raises(InvalidInput, match="coder"):
        demo.import_codes(bad, coder="zeroshot:me")


def test_train_needs_labels(demo: Project) -> None:
    with pytest.raises(NotFound, match="import-codes"):
        demo.train(embedder="fake")


def test_cli_review_loop_and_cv(demo: Project, project_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(project_path)
    out = runner.invoke(app, ["review", "next", "-p", db, "--n", "3"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app,
        ["review", "-p", db, "--reviewer", "ana", "--n", "1", "--min-score", "0"],
        input="a\nr\n" + "s\n" * 12 + "DP1\n",
    )
    assert out.exit_code == 0, out.output
    assert "decisions recorded" in out.output
    assert (repo.load_assignments(demo.store)["coder"] == "ana").sum() == 3
    out = runner.invoke(app, ["import-codes", str(GOLD_PATH), "--coder", "gold", "-p", db])
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app, ["evaluate", "-p", db, "--cv", "3", "--embedder", "fake", "--chart", str(tmp_path / "curve.svg")]
    )
    assert out.exit_code == 0, out.output
    assert "Learning curve" in out.output and (tmp_path / "curve.svg").exists()
    out = runner.invoke(
        app, ["train", "-p", db, "--embedder", "fake", "--context-field", "organizations", "--at-least-one"]
    )
    assert isinstance(out.exception, InvalidInput) and "--level venture" in str(out.exception)  # not ignored
    out = runner.invoke(
        app,
        [
            "train",
            "-p",
            db,
            "-e",
            "fake",
            "--level",
            "venture",
            "--context-field",
            "organizations",
            "--at-least-one",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "Re-coded" in out.output
    from sqlalchemy import select

    from simap.store.schema import Run

    with demo.store.session() as session:
        trained = session.execute(
            select(Run.params).where(Run.kind == "train").order_by(Run.id.desc())
        ).first()[0]
    assert trained["context_fields"] == ["organizations"] and trained["at_least_one"] is True
    out = runner.invoke(app, ["code", "-p", db, "--coder", "supervised", "--workers", "1"])
    assert out.exit_code == 0, out.output
    assert "supervised:" in out.output


# -- venture level: single-label taxonomies and multi-label tags ------------------------------
SECTORS = {
    "name": "sectors",
    "title": "Two sectors",
    "label_mode": "single",
    "kinds": ["sector"],
    "codes": [
        {
            "id": "M",
            "kind": "sector",
            "name": "Public safety",
            "definition": "Fire departments, rescue squads and ambulance services.",
            "examples": ["The volunteer fire company protects the township.", "A rescue squad."],
        },
        {
            "id": "X",
            "kind": "sector",
            "name": "Religion",
            "definition": "Churches, congregations and ministries.",
            "examples": ["The church holds worship services.", "A ministry of the congregation."],
        },
    ],
}

VENTURES = pd.DataFrame(
    [
        ("f1", "Elm Volunteer Fire Company", None, "Public safety", None, {"org": "county", "label": "M"}),
        ("f2", "Oak Rescue Squad", None, None, None, {"org": "county", "label": "M"}),
        ("c1", "St Anne Church", "Kenya", None, None, {"org": "diocese", "label": "X"}),
        ("c2", "Grace Ministry", None, None, None, {"org": "diocese", "label": "X"}),
        ("f3", "Pine Fire Department", None, None, None, {"org": "county", "label": "M"}),
        ("c3", "First Baptist Church", None, None, None, {"org": "diocese", "label": "X"}),
    ],
    columns=["id", "name", "country", "sector", "year", "metadata"],
).assign(source="test")
NEUTRAL = segment_documents(
    pd.DataFrame(
        [{"venture_id": v, "field": "mission", "text": "We serve our community."} for v in VENTURES["id"]]
    )
)


def test_venture_context_reads_metadata_only_when_named() -> None:
    from simap.coding.supervised import venture_context

    ctx = venture_context(VENTURES)
    assert ctx["f1"] == "Elm Volunteer Fire Company sector_public_safety"
    assert ctx["c1"] == "St Anne Church country_kenya"
    assert "label" not in " ".join(ctx.values())  # metadata, labels included, is never read unasked
    assert venture_context(VENTURES, ("org",))["f2"] == "Oak Rescue Squad org_county"


def test_single_label_model_reads_names_and_starts_from_the_codebook(fake_embedder) -> None:
    from simap.codebook import from_dict

    book = from_dict(SECTORS)
    # one labelled venture per class: the codebook's own texts supply the rest
    labels = labels_for({"f1": ["M"], "c1": ["X"]}, book.ids())
    coder = SupervisedCoder(fake_embedder).fit(book, segments=NEUTRAL, labels=labels, ventures=VENTURES)
    assert coder.level_ == "venture" and coder.get_params()["augment"] is True
    more = labels_for(
        {v: [v[0].upper().replace("F", "M").replace("C", "X")] for v in VENTURES["id"]}, book.ids()
    )
    cv = (
        SupervisedCoder(fake_embedder, folds=3)
        .fit(book, segments=NEUTRAL, labels=more, ventures=VENTURES)
        .cv_
    )
    assert cv["folds"] == 3 and 0 <= cv["macro_f1"] <= 1 and cv["pooled_f1"] == cv["accuracy"]
    out = coder.predict(NEUTRAL, ventures=VENTURES)
    chosen = out[out["score"] >= 0.5]
    assert chosen.groupby("venture_id").size().eq(1).all() and len(chosen) == len(VENTURES)
    # the texts are identical: only the names tell fire companies from churches
    assert dict(zip(chosen["venture_id"], chosen["code_id"], strict=True)) == {
        "f1": "M", "f2": "M", "f3": "M", "c1": "X", "c2": "X", "c3": "X"
    }  # fmt: skip
    with pytest.raises(InvalidInput, match="two classes"):
        SupervisedCoder(fake_embedder, augment=False).fit(book, segments=NEUTRAL, labels=labels.iloc[:2])
    with pytest.raises(InvalidInput, match="venture_model"):
        SupervisedCoder(fake_embedder, venture_model="forest").fit(book, segments=NEUTRAL, labels=labels)


def test_multi_label_venture_model_context_fields_and_at_least_one(tiny_codebook, fake_embedder) -> None:
    ventures = VENTURES.assign(name="Anon", sector=None, country=None)  # only the metadata differs
    truth = {
        v: (["DATA"] if m["org"] == "county" else ["OPEN"])
        for v, m in zip(ventures["id"], ventures["metadata"], strict=True)
    }
    labels = labels_for(truth, tiny_codebook.ids())
    params = {"level": "venture", "folds": 2, "min_positives": 2, "augment": False}
    blind = SupervisedCoder(fake_embedder, **params).fit(
        tiny_codebook, segments=NEUTRAL, labels=labels, ventures=ventures
    )
    seeing = SupervisedCoder(fake_embedder, context_fields=["org"], at_least_one=True, **params).fit(
        tiny_codebook, segments=NEUTRAL, labels=labels, ventures=ventures
    )
    assert seeing.get_params()["context_fields"] == ["org"]
    out = seeing.predict(NEUTRAL, ventures=ventures)
    present = out[out["score"] >= 0.5]
    assert set(present["venture_id"]) == set(ventures["id"])  # at least one code each
    best = out.loc[out.groupby("venture_id")["score"].idxmax()]
    learned = dict(zip(best["venture_id"], best["code_id"], strict=True))
    assert learned == {v: codes[0] for v, codes in truth.items()}  # learned from "org" alone
    raw_blind = blind.predict(NEUTRAL, ventures=ventures)["raw"]
    assert raw_blind.nunique() <= 2  # without the field every venture looks the same


def test_cli_single_label_loop_with_a_codebook_file(tmp_path: Path) -> None:
    import yaml

    book = tmp_path / "sectors.yaml"
    book.write_text(yaml.safe_dump(SECTORS), encoding="utf-8")
    names = ["Elm Fire Company", "Oak Rescue Squad", "Ash Fire Department", "Pine Fire Company"]
    names += ["St Anne Church", "Grace Ministry", "First Baptist Church", "Hope Church"]
    data = tmp_path / "orgs.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"o{i}", "name": n, "mission": "We serve our community."}) + "\n"
            for i, n in enumerate(names)
        )
    )
    coded = tmp_path / "coded.jsonl"
    coded.write_text(
        "".join(json.dumps({"id": f"o{i}", "codes": ["M" if i < 4 else "X"]}) + "\n" for i in (0, 1, 4, 5))
    )
    db = str(tmp_path / "orgs.db")
    runner = CliRunner()
    for args in (
        ["import", str(data), "-p", db],
        ["import-codes", str(coded), "--coder", "ana", "-c", str(book), "-p", db],
        ["train", "-p", db, "-e", "fake", "-c", str(book)],  # re-codes with the same codebook
        ["evaluate", "-p", db, "--cv", "2", "-e", "fake", "-c", str(book)],
    ):
        out = runner.invoke(app, args)
        assert out.exit_code == 0, (args, out.output)
    with Project.open(db) as proj:
        a = proj.assignments(proj.current_codebook(str(book)))
    chosen = a[(a["source"] == "machine") & (a["score"] >= 0.5)]
    assert dict(zip(chosen["venture_id"], chosen["code_id"], strict=True)) == {
        f"o{i}": "M" if i < 4 else "X" for i in range(8)
    }


def test_automatic_retraining_keeps_the_training_options(demo: Project, tmp_path: Path) -> None:
    from simap.coding.training import last_train_params

    demo.import_codes(Path(str(GOLD_PATH)), coder="gold")
    book = demo.current_codebook()
    first = demo.train(codebook=book, embedder="fake", params={"folds": 3})
    assert last_train_params(demo.store, book) == {"folds": 3}
    assert demo.maybe_retrain(every=1, codebook=book, embedder="fake") is None  # nothing new yet
    extra = tmp_path / "more.csv"
    extra.write_text("venture,code,evidence\nushahidi,DP5,reports\n")
    demo.import_codes(extra, coder="ana", partial=True)
    again = demo.maybe_retrain(every=1, codebook=book, embedder="fake")
    assert again is not None and again.run_id > first.run_id and again.cv["folds"] == 3


@pytest.mark.slow
def test_train_finetune_adds_tuned_heads_and_codes(demo: Project) -> None:
    """``simap train --finetune``: MiniLM fine-tuned on the demo's gold codes (1 epoch here), the
    blend with its heads saved and used for coding; provenance names the tuned model."""
    pytest.importorskip("sentence_transformers")
    demo.import_codes(Path(str(GOLD_PATH)), coder="gold")
    result = demo.train(embedder="fake", params={"folds": 3}, finetune=True)
    coder, _ = load_trained(demo.store, demo.current_codebook())
    assert coder.tuned_heads_ and "finetuned-" in str(coder.get_params()["tuned_embedder"])
    assert last_train_finetuned(demo.store, demo.current_codebook())  # retraining fine-tunes again
    assert 0 < result.finetune_seconds < result.seconds
    demo.code(coder="supervised")
    a = demo.assignments(demo.current_codebook())
    assert a["coder"].str.startswith("supervised:").any() and result.labels > 30


def test_train_finetune_refuses_bad_options_before_fine_tuning(demo: Project) -> None:
    from simap.coding.training import models_dir

    demo.import_codes(Path(str(GOLD_PATH)), coder="gold")
    with pytest.raises(InvalidInput, match="sentence-level blend only") as err:
        demo.train(embedder="fake", params={"level": "venture"}, finetune=True)
    assert err.value.field == "finetune" and "--level venture" in str(err.value)
    folder = models_dir(demo.store)
    assert not folder.exists() or not list(folder.glob("finetuned-*"))  # nothing was fine-tuned
