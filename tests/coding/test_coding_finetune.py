from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simap.coding.finetune import contrastive_pairs, finetune_sentence_model
from simap.errors import InvalidInput
from simap.ingest.segment import segment_documents

DOCS = pd.DataFrame(
    [
        {
            "venture_id": "a",
            "field": "description",
            "text": "Nurses collect survey data on phones. We also sell tea.",
        },
        {"venture_id": "b", "field": "description", "text": "A wiki of lessons written by volunteers."},
    ]
)
LABELS = pd.DataFrame(
    [
        ("a", "DATA", "accepted", [{"text": "Nurses collect survey data on phones."}]),
        ("a", "OPEN", "rejected", []),
        ("b", "OPEN", "accepted", [{"text": "A wiki of lessons written by volunteers."}]),
        ("b", "DATA", "rejected", []),
    ],
    columns=["venture_id", "code_id", "status", "evidence"],
)


def test_pairs_are_balanced_and_come_from_labels(tiny_codebook) -> None:
    pairs = contrastive_pairs(tiny_codebook, segment_documents(DOCS), LABELS, max_pairs=40)
    assert pairs
    targets = [t for _, _, t in pairs]
    assert targets.count(1.0) == targets.count(0.0)
    texts = {a for a, _, _ in pairs} | {b for _, b, _ in pairs}
    assert "Nurses collect survey data on phones." in texts
    assert "We also sell tea." in texts  # a sentence of a venture where OPEN was rejected


def test_needs_enough_labels(tiny_codebook, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="at least 20"):
        finetune_sentence_model(tiny_codebook, segment_documents(DOCS), LABELS, tmp_path / "m")


@pytest.mark.slow
def test_finetuned_model_loads_as_minilm(tiny_codebook, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    from simap.embed import get_embedder

    out = finetune_sentence_model(
        tiny_codebook, segment_documents(DOCS), LABELS, tmp_path / "m", min_positives=1, max_pairs=16
    )
    emb = get_embedder("minilm", model=str(out))
    vecs = emb.embed(["collect survey data", "a wiki"])
    assert vecs.shape[0] == 2 and emb.key != get_embedder("minilm").key
