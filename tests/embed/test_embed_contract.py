"""The Embedder contract, checked on every registered backend (built-in and plug-in).

Backends whose optional dependency or model is missing are skipped with the reason; the heavy
ones (minilm, static) are also marked slow. The static backend is checked on a model distilled
from the packaged MiniLM into a temporary SIMAP_HOME once per session (fully offline).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from simap.embed import Embedder, embedders, get_embedder
from simap.embed.models import DEFAULT_STATIC_NAME, distill_static, list_models, packaged_minilm_path
from simap.errors import BackendUnavailable, InvalidInput

HEAVY = {"minilm", "static"}

TEXTS = [
    "Solar-powered water pumps for smallholder farmers in Kenya.",
    "A mobile app that connects rural women artisans with buyers.",
    "Open-source case management software for NGOs.",
    "Solar-powered water pumps for smallholder farmers in Kenya.",
    "Irrigation with solar energy helps small farms grow more food.",
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing may download during tests.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def static_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SIMAP_HOME holding models/minilm-static, distilled once per test session."""
    home = tmp_path_factory.mktemp("simap_home")
    try:
        distill_static(home / "models" / DEFAULT_STATIC_NAME)
    except BackendUnavailable as exc:
        pytest.skip(f"cannot distill a static model here: {exc}")
    return home


def _params() -> list[object]:
    return [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in embedders.names()]


def _make(name: str, request: pytest.FixtureRequest) -> Embedder:
    if name == "static":
        home = request.getfixturevalue("static_home")
        request.getfixturevalue("monkeypatch").setenv("SIMAP_HOME", str(home))
    try:
        return get_embedder(name)
    except BackendUnavailable as exc:
        pytest.skip(f"embedder {name!r} unavailable here: {exc}")


def _dense(mat: object) -> np.ndarray:
    if sparse.issparse(mat):
        assert isinstance(mat, sparse.csr_matrix | sparse.csr_array), (
            f"sparse output must be CSR, got {type(mat)}"
        )
        return np.asarray(mat.toarray())
    assert isinstance(mat, np.ndarray)
    return mat


@pytest.mark.parametrize("name", _params())
def test_embed_contract(name: str, request: pytest.FixtureRequest) -> None:
    emb = _make(name, request)
    assert isinstance(emb, Embedder)
    assert emb.name == name
    assert isinstance(emb.cacheable, bool)

    assert emb.fit(TEXTS) is emb
    key = emb.key
    assert isinstance(key, str) and key.startswith(f"{name}:")

    first = emb.embed(TEXTS)
    assert first.dtype == np.float32
    mat = _dense(first)
    assert mat.ndim == 2 and mat.shape[0] == len(TEXTS) and mat.shape[1] > 0
    assert np.allclose(np.linalg.norm(mat, axis=1), 1.0, atol=1e-5), "rows must be L2-normalised"

    # deterministic, and a row does not depend on its batch neighbours (what makes caching valid)
    assert np.allclose(_dense(emb.embed(TEXTS)), mat, rtol=0, atol=1e-6)
    assert np.allclose(mat[0], mat[3], rtol=0, atol=1e-6)
    alone = _dense(emb.embed([TEXTS[2]]))
    assert alone.shape == (1, mat.shape[1])
    assert np.allclose(alone[0], mat[2], rtol=0, atol=1e-5)

    # key is stable, and a fresh embedder with the same parameters has the same key
    assert emb.key == key
    params = emb.get_params()
    again = get_embedder(name, **json.loads(json.dumps(params)))
    again.fit(TEXTS)
    assert again.key == key

    empty = emb.embed([])
    assert empty.shape[0] == 0
    with pytest.raises(InvalidInput, match="list of strings"):
        emb.embed(TEXTS[0])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"texts\[1\]"):
        emb.embed(["ok", None])  # type: ignore[list-item]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["minilm", "static"])
def test_dense_models_capture_meaning(name: str, request: pytest.FixtureRequest) -> None:
    emb = _make(name, request)
    mat = _dense(emb.embed(TEXTS))
    sims = mat @ mat.T
    # solar pumps vs solar irrigation is closer than solar pumps vs case-management software
    assert sims[0, 4] > sims[0, 2]


@pytest.mark.slow
def test_distill_static_then_load(static_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = static_home / "models" / DEFAULT_STATIC_NAME
    for name in ("config.json", "model.safetensors", "tokenizer.json", "simap_model.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "simap_model.json").read_text())
    assert meta["pca_dims"] == 256 and meta["dim"] == 256
    assert not list(out.parent.glob(".*tmp*")), "temporary distillation directory left behind"

    explicit = get_embedder("static", model=str(out))
    vecs = explicit.embed(TEXTS)
    assert vecs.shape == (len(TEXTS), 256)
    assert explicit.key.startswith(f"static:{DEFAULT_STATIC_NAME}:")

    monkeypatch.setenv("SIMAP_HOME", str(static_home))
    default = get_embedder("static")
    assert default.key == explicit.key
    assert np.array_equal(default.embed(TEXTS), vecs)
    listed = {m["name"]: m for m in list_models()}
    assert listed[DEFAULT_STATIC_NAME]["available"] is True
    assert listed[DEFAULT_STATIC_NAME]["path"] == str(out)


@pytest.mark.slow
def test_minilm_key_and_params() -> None:
    try:
        emb = get_embedder("minilm", batch_size=8)
    except BackendUnavailable as exc:
        pytest.skip(f"embedder 'minilm' unavailable here: {exc}")
    assert emb.key == "minilm:all-MiniLM-L6-v2"
    assert get_embedder("minilm", model="sentence-transformers/all-MiniLM-L6-v2").key == emb.key
    assert emb.embed(TEXTS[:2]).shape == (2, 384)
    assert get_embedder("minilm", model=str(packaged_minilm_path())).key == emb.key
