from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_coding_supervised import DOCS, TRUTH, labels_for

from simap.coding.finetune import finetune_classifier
from simap.coding.supervised import SupervisedCoder, label_targets, venture_texts
from simap.embed import get_embedder
from simap.errors import InvalidInput
from simap.ingest.segment import segment_documents

IDS = sorted(TRUTH)


def test_label_targets_and_venture_texts(tiny_codebook) -> None:
    labels = labels_for(TRUTH, tiny_codebook.ids()).iloc[:-1]  # v7 x OPEN: no decision
    y = label_targets(labels, IDS, tiny_codebook.ids())
    assert y.shape == (8, 2) and y[0].tolist() == [1, 0] and y[-1].tolist() == [0, -1]
    texts = venture_texts(segment_documents(DOCS), ["v1", "v0"])
    assert texts == ["A wiki anyone can edit.", "Health workers collect survey data on mobile phones."]


def test_finetune_checks_its_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"\(n_texts, n_codes\)"):
        finetune_classifier(["a", "b"], np.zeros((3, 2)), tmp_path / "m")
    with pytest.raises(InvalidInput, match="at least 20"):
        finetune_classifier(["a", "b"], np.array([[1, 0], [0, -1]]), tmp_path / "m")


def test_tuned_heads_take_their_weight_of_the_blend(tiny_codebook, fake_embedder) -> None:
    """A tuned embedder (here the fake one standing in for a fine-tuned MiniLM) adds per-code
    heads: weight 0 leaves the blend's scores, a weight moves them, provenance names the model."""
    seg, labels = segment_documents(DOCS), labels_for(TRUTH, tiny_codebook.ids())
    plain = SupervisedCoder(fake_embedder).fit(tiny_codebook, segments=seg, labels=labels).predict(seg)
    tuned = get_embedder("fake", dim=32)

    def scores(w: float) -> np.ndarray:
        coder = SupervisedCoder(fake_embedder, tuned_embedder=tuned, tuned_weight=w)
        coder.fit(tiny_codebook, segments=seg, labels=labels)
        assert set(coder.tuned_heads_) == {0, 1}  # both codes have >= 2 positives
        assert coder.get_params()["tuned_embedder"] == tuned.key
        return coder.predict(seg)["score"].to_numpy()

    np.testing.assert_allclose(scores(0.0), plain["score"].to_numpy())
    moved = scores(0.5)
    assert not np.allclose(moved, plain["score"].to_numpy()) and ((moved >= 0) & (moved <= 1)).all()
    # the heads learned the labels: positives score higher than negatives on average
    out = plain.assign(score=moved)
    truth = out.apply(lambda r: r["code_id"] in TRUTH[r["venture_id"]], axis=1)
    assert out.loc[truth, "score"].mean() > out.loc[~truth, "score"].mean()
    assert SupervisedCoder(fake_embedder).get_params()["tuned_embedder"] is None


def test_tuned_embedder_needs_the_blend(tiny_codebook, fake_embedder) -> None:
    seg, labels = segment_documents(DOCS), labels_for(TRUTH, tiny_codebook.ids())
    with pytest.raises(InvalidInput, match="sentence-level blend only"):
        SupervisedCoder(fake_embedder, method="stack", tuned_embedder=fake_embedder).fit(
            tiny_codebook, segments=seg, labels=labels
        )


@pytest.mark.slow
def test_finetuned_model_loads_as_minilm(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    texts = [str(t) for t in DOCS["text"]]
    y = np.array([[int("DATA" in TRUTH[v]), int("OPEN" in TRUTH[v])] for v in IDS])
    out = finetune_classifier(texts, y, tmp_path / "m", min_positives=1, epochs=1)
    emb = get_embedder("minilm", model=str(out))
    vecs = emb.embed(["collect survey data", "a wiki"])
    assert vecs.shape[0] == 2 and emb.key != get_embedder("minilm").key
