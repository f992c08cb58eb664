"""The VectorIndex contract, over every registered index backend."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simap.embed import index as vi
from simap.errors import BackendUnavailable, InvalidInput, NotFound, UnknownBackend


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(2, n // 20), dim))
    x = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.normal(size=(n, dim))
    return x.astype(np.float32)


@pytest.fixture(params=vi.indexes.names())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_same_neighbours_as_exact(backend: str) -> None:
    x = clustered(600)
    ids = [f"v{i}" for i in range(len(x))]
    queries = clustered(40, seed=1)
    truth_ids, truth_sims = vi.build_index(x, ids, backend="exact").search(queries, 10)
    found_ids, found_sims = vi.build_index(x, ids, backend=backend).search(queries, 10)
    assert found_ids.shape == (40, 10) and found_sims.shape == (40, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found_ids, truth_ids, strict=True)])
    assert recall >= 0.98
    assert np.all(np.diff(found_sims, axis=1) <= 1e-6)  # best first
    np.testing.assert_allclose(found_sims[:, 0], truth_sims[:, 0], atol=2e-3)  # cosine (f16 storage)


def test_self_is_nearest_and_similarity_is_cosine(backend: str) -> None:
    x = clustered(200)
    index = vi.build_index(x, backend=backend)
    ids, sims = index.search(x[:5] * 7.0, 1)  # queries are normalised too
    assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(sims[:, 0], 1.0, atol=2e-3)


def test_k_beyond_size_and_incremental_add(backend: str) -> None:
    x = clustered(30)
    index = vi.make_index(backend)
    index.add([f"a{i}" for i in range(10)], x[:10]).add([f"b{i}" for i in range(20)], x[10:])
    assert len(index) == 30 and index.dim == 32
    ids, _sims = index.search(x[12], 100)  # a 1-D query is one query
    assert ids.shape == (1, 30) and set(ids[0]) == {f"a{i}" for i in range(10)} | {f"b{i}" for i in range(20)}
    assert ids[0, 0] == "b2"


def test_save_load_round_trip(backend: str, tmp_path: Path) -> None:
    x = clustered(300)
    index = vi.build_index(x, [f"v{i}" for i in range(300)], backend=backend)
    before = index.search(x[:20], 5)
    index.save(tmp_path / "idx")
    again = vi.load_index(tmp_path / "idx")
    assert again.name == backend and len(again) == 300 and again.dim == 32
    after = again.search(x[:20], 5)
    assert (after[0] == before[0]).all()
    np.testing.assert_allclose(after[1], before[1], atol=1e-6)
    assert again.get_params() == index.get_params()


def test_bad_input(backend: str) -> None:
    x = clustered(20)
    index = vi.make_index(backend)
    with pytest.raises(NotFound, match="empty"):
        index.search(x[:1], 3)
    index.add(list(range(20)), x)
    with pytest.raises(InvalidInput, match="dimension"):
        index.search(np.ones((1, 5), dtype=np.float32), 3)
    with pytest.raises(InvalidInput, match="k"):
        index.search(x[:1], 0)
    with pytest.raises(InvalidInput, match="not already in the index"):
        index.add([3], x[:1])
    with pytest.raises(InvalidInput, match="one id per vector"):
        index.add([100, 101], x[:1])
    with pytest.raises(InvalidInput, match="zero row"):
        index.add([200], np.zeros((1, 32), dtype=np.float32))
    bad = x[:1].copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInput, match="finite"):
        index.add([300], bad)
    with pytest.raises(InvalidInput, match="unique"):
        vi.make_index(backend).add(["a", "a"], x[:2])


def test_unknown_backend_lists_valid_names() -> None:
    with pytest.raises(UnknownBackend) as err:
        vi.build_index(clustered(5), backend="annoy")
    assert "exact" in str(err.value) and "usearch" in str(err.value)


def test_auto_picks_by_size() -> None:
    x = clustered(120)
    assert vi.build_index(x, threshold=1000).name == "exact"
    assert vi.build_index(x, threshold=100).name == "usearch"


def test_usearch_build_is_reproducible() -> None:
    x = clustered(2000, seed=3)
    q = clustered(50, seed=4)
    a = vi.build_index(x, backend="usearch", connectivity=8, expansion_search=16).search(q, 10)
    b = vi.build_index(x, backend="usearch", connectivity=8, expansion_search=16).search(q, 10)
    assert (a[0] == b[0]).all()


def test_missing_usearch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("usearch"):
            raise ImportError("No module named 'usearch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr("importlib.import_module", lambda name: fake_import(name))
    with pytest.raises(BackendUnavailable, match=r"simap\[ann\]"):
        vi.build_index(clustered(10), backend="usearch")


def test_load_refuses_a_missing_index(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"index\.json"):
        vi.load_index(tmp_path)
