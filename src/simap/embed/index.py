"""Nearest neighbours by cosine similarity: an exact index and an approximate (HNSW) one.

A :class:`VectorIndex` holds L2-normalised ``float32`` rows under ids (strings or integers) and
answers ``search(queries, k) -> (ids, similarities)``, best first, ``min(k, len(index))`` columns.
Vectors are normalised on the way in (a zero row is refused), so the similarity is the cosine.

Backends (the ``indexes`` registry; ``indexes.describe()`` lists them):

* ``exact``   - numpy: blocked matrix product and ``argpartition``; memory-bounded (one block of
  ``block`` base rows at a time), exact, ties broken by insertion order.
* ``usearch`` - an HNSW graph (``pip install 'simap[ann]'``); approximate. With the defaults
  (``connectivity=16, expansion_add=64, expansion_search=256, dtype="f32"``) recall@10 against
  ``exact`` was 0.973 at 1M vectors, p95 6.1 ms a query (docs/benchmarks.md, "Nearest neighbours
  at 1M vectors").
  A missing ``usearch`` raises :class:`BackendUnavailable`; there is no silent fallback.

:func:`build_index` picks ``exact`` below ``DEFAULT_THRESHOLD`` vectors and ``usearch`` from there
(``backend="auto"``). Determinism: ``exact`` always; ``usearch`` is deterministic for a build with
``threads=1`` (the graph depends on insertion order, which parallel inserts do not fix), so
``build_index`` builds single-threaded below ``DETERMINISTIC_BELOW`` vectors and in parallel above
(results may then differ slightly from run to run, within the measured recall). There is no seed:
usearch draws the HNSW levels from its own fixed-seed generator.

``save(path)`` writes a directory (``index.json``, ``ids.npy`` and ``vectors.npy`` or
``graph.usearch``); :func:`load_index` reads any backend back.

Other stages call it the same way, e.g. discovery on sentence vectors::

    from simap.embed.index import build_index
    index = build_index(vectors, ids)            # exact or usearch by size
    ids, sims = index.search(vectors[:5], k=10)  # each row: the 10 nearest ids, best first
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from simap.embed._common import require
from simap.errors import InvalidInput, NotFound, expected
from simap.registry import Registry

DEFAULT_THRESHOLD = 50_000
"""``build_index(backend="auto")`` uses ``exact`` below this many vectors, ``usearch`` from there
(chosen by ``bench/ann.py``: exact single queries stay under ~5 ms up to here on 2 cores, while an
HNSW build of this size already takes seconds)."""
DETERMINISTIC_BELOW = 200_000
"""``build_index`` builds a usearch graph single-threaded (reproducible) below this many vectors."""
FORMAT = 1
_BLOCK_CELLS = 1 << 24  # similarities held at once by the exact search (64 MB of float32)


@runtime_checkable
class VectorIndex(Protocol):
    """The contract of every index backend."""

    name: str

    @property
    def dim(self) -> int | None: ...

    def add(self, ids: Sequence[Any] | np.ndarray, vectors: np.ndarray) -> VectorIndex: ...

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: str | Path) -> Path: ...

    def get_params(self) -> dict[str, Any]: ...

    def __len__(self) -> int: ...


indexes: Registry[VectorIndex] = Registry("indexes")


# -- validation -------------------------------------------------------------------------------
def as_unit_rows(vectors: Any, *, what: str, dim: int | None = None) -> np.ndarray:
    """``vectors`` as a C-contiguous float32 matrix of unit rows (a 1-D vector is one row)."""
    try:
        mat = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInput(
            expected(what, "a 2-D array of numbers (rows x dim)", type(vectors).__name__),
            field=what,
            hint="pass a numpy float32 matrix, one row per vector.",
        ) from None
    if mat.ndim == 1 and mat.size:
        mat = mat[None, :]
    if mat.ndim != 2 or mat.shape[1] == 0:
        raise InvalidInput(
            expected(what, "a 2-D array (rows x dim, dim >= 1)", f"shape {mat.shape}"),
            field=what,
            hint="pass one row per vector, e.g. vectors.reshape(len(ids), -1).",
        )
    if dim is not None and mat.shape[1] != dim:
        raise InvalidInput(
            expected(f"the dimension of {what}", f"{dim} (the index's)", mat.shape[1]),
            field=what,
            hint="embed with the same model that built the index.",
        )
    if not np.isfinite(mat).all():
        raise InvalidInput(
            expected(what, "finite numbers", "NaN or infinity"),
            field=what,
            hint="drop or repair the rows with NaN/inf before indexing.",
        )
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    zero = np.flatnonzero(norms[:, 0] == 0)
    if len(zero):
        raise InvalidInput(
            expected(
                what,
                "non-zero rows (cosine needs a direction)",
                f"{len(zero)} zero row(s), e.g. row {zero[0]}",
            ),
            field=what,
            hint="leave out items without text (they have no vector).",
        )
    return np.ascontiguousarray(mat / norms, dtype=np.float32)


def _as_ids(ids: Any, n: int) -> np.ndarray:
    if isinstance(ids, str | bytes):
        raise InvalidInput(
            expected("ids", "a list of ids", ids), field="ids", hint="wrap a single id in a list."
        )
    arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if arr.ndim != 1 or len(arr) != n:
        raise InvalidInput(
            expected("ids", f"one id per vector ({n})", f"{arr.size} id(s)"),
            field="ids",
            hint="pass as many ids as rows of vectors.",
        )
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "b" or arr.dtype.kind == "f":
        raise InvalidInput(
            expected("ids", "strings or integers", arr.dtype.name), field="ids", hint="use str or int ids."
        )
    else:
        arr = arr.astype(str)
    if len(np.unique(arr)) != len(arr):
        raise InvalidInput(
            expected("ids", "unique", "duplicates"), field="ids", hint="give every vector its own id."
        )
    return arr


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInput(expected("k", "an integer >= 1", k), field="k", hint="pass k=10, say.")
    return int(k)


class _Base:
    name = "base"

    def __init__(self) -> None:
        self._ids: np.ndarray = np.empty(0, dtype=np.int64)
        self._dim: int | None = None

    @property
    def dim(self) -> int | None:
        return self._dim

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def _new_ids(self, ids: Any, n: int) -> np.ndarray:
        new = _as_ids(ids, n)
        if len(self._ids):
            if (new.dtype.kind == "U") != (self._ids.dtype.kind == "U"):
                raise InvalidInput(
                    expected("ids", f"of the index's type ({self._ids.dtype.kind})", new.dtype.name),
                    field="ids",
                    hint="do not mix string and integer ids in one index.",
                )
            clash = np.isin(new, self._ids)
            if clash.any():
                raise InvalidInput(
                    expected("ids", "not already in the index", new[clash][:3].tolist()),
                    field="ids",
                    hint="build a new index to replace vectors.",
                )
        return new

    def _queries(self, queries: Any, k: object) -> tuple[np.ndarray, int]:
        kk = _check_k(k)
        if not len(self):
            raise NotFound("the index is empty.", hint="add vectors before searching.")
        return as_unit_rows(queries, what="queries", dim=self._dim), min(kk, len(self))

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        q, kk = self._queries(queries, k)
        pos, sims = self.search_positions(q, kk)
        return self._ids[pos], sims

    def search_positions(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row positions and similarities of the ``k`` nearest rows to unit queries ``q``."""
        raise NotImplementedError

    def _write_meta(self, path: Path, params: dict[str, Any]) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "ids.npy", self._ids, allow_pickle=False)
        meta = {"format": FORMAT, "backend": self.name, "dim": self._dim, "n": len(self), "params": params}
        (path / "index.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")


# -- exact ------------------------------------------------------------------------------------
@indexes.register("exact")
class ExactIndex(_Base):
    """Exact cosine search in numpy (blocked matmul + argpartition); memory-bounded."""

    name = "exact"

    def __init__(self, *, block: int = 65_536) -> None:
        super().__init__()
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise InvalidInput(expected("block", "an integer >= 1", block), field="block", hint="pass 65536.")
        self.block = block
        self._vectors = np.empty((0, 0), dtype=np.float32)

    def get_params(self) -> dict[str, Any]:
        return {"block": self.block}

    def add(self, ids: Sequence[Any] | np.ndarray, vectors: np.ndarray) -> ExactIndex:
        mat = as_unit_rows(vectors, what="vectors", dim=self._dim)
        new = self._new_ids(ids, len(mat))
        self._vectors = mat if not len(self) else np.concatenate([self._vectors, mat])
        self._ids = new if not len(self) else np.concatenate([self._ids, new])
        self._dim = mat.shape[1]
        return self

    def search_positions(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row positions and similarities of the ``k`` nearest rows to unit queries ``q``."""
        n = len(self._vectors)
        q_block = max(1, min(len(q), _BLOCK_CELLS // max(1, min(n, self.block))))
        out_pos = np.empty((len(q), k), dtype=np.int64)
        out_sim = np.empty((len(q), k), dtype=np.float32)
        for qs in range(0, len(q), q_block):
            qq = q[qs : qs + q_block]
            best_pos = np.empty((len(qq), 0), dtype=np.int64)
            best_sim = np.empty((len(qq), 0), dtype=np.float32)
            for bs in range(0, n, self.block):
                sims = qq @ self._vectors[bs : bs + self.block].T
                kb = min(k, sims.shape[1])
                if kb < sims.shape[1]:
                    part = np.argpartition(-sims, kb - 1, axis=1)[:, :kb]
                else:
                    part = np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
                best_sim = np.concatenate([best_sim, np.take_along_axis(sims, part, axis=1)], axis=1)
                best_pos = np.concatenate([best_pos, part + bs], axis=1)
                if best_sim.shape[1] > k:
                    keep = np.argpartition(-best_sim, k - 1, axis=1)[:, :k]
                    best_sim = np.take_along_axis(best_sim, keep, axis=1)
                    best_pos = np.take_along_axis(best_pos, keep, axis=1)
            order = np.lexsort((best_pos, -best_sim), axis=1)  # best first, then insertion order
            out_pos[qs : qs + len(qq)] = np.take_along_axis(best_pos, order, axis=1)
            out_sim[qs : qs + len(qq)] = np.take_along_axis(best_sim, order, axis=1)
        return out_pos, out_sim

    def vectors(self) -> np.ndarray:
        return self._vectors

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        self._write_meta(p, self.get_params())
        np.save(p / "vectors.npy", self._vectors, allow_pickle=False)
        return p

    @classmethod
    def _load(cls, path: Path, meta: dict[str, Any]) -> ExactIndex:
        index = cls(**meta.get("params", {}))
        index._ids = np.load(path / "ids.npy", allow_pickle=False)
        index._vectors = np.load(path / "vectors.npy", allow_pickle=False)
        index._dim = meta.get("dim")
        return index

    def __repr__(self) -> str:
        return f"ExactIndex({len(self)} vectors, dim={self._dim})"


# -- usearch ----------------------------------------------------------------------------------
@indexes.register("usearch")
class UsearchIndex(_Base):
    """Approximate cosine search on an HNSW graph (usearch; `pip install 'simap[ann]'`)."""

    name = "usearch"

    def __init__(
        self,
        *,
        connectivity: int = 16,
        expansion_add: int = 64,
        expansion_search: int = 256,
        dtype: str = "f32",
        threads: int = 0,
    ) -> None:
        super().__init__()
        require("usearch.index", extra="ann", what="the 'usearch' vector index")
        for pname, value in (
            ("connectivity", connectivity),
            ("expansion_add", expansion_add),
            ("expansion_search", expansion_search),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise InvalidInput(
                    expected(f"parameter {pname!r} of the 'usearch' index", "an integer >= 2", value),
                    field=pname,
                    hint=f"pass {pname}=16 or larger.",
                )
        if dtype not in ("f32", "f16", "bf16", "i8"):
            raise InvalidInput(
                expected("parameter 'dtype' of the 'usearch' index", "one of f32, f16, bf16, i8", dtype),
                field="dtype",
                hint="pass dtype='f32' (or 'f16': half the memory, same recall, slower builds on AVX2 CPUs).",
            )
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise InvalidInput(
                expected("parameter 'threads'", "an integer >= 0 (0: all cores)", threads),
                field="threads",
                hint="pass threads=1 for a reproducible build.",
            )
        self.connectivity = connectivity
        self.expansion_add = expansion_add
        self.expansion_search = expansion_search
        self.dtype = dtype
        self.threads = threads
        self._index: Any = None

    def get_params(self) -> dict[str, Any]:
        return {
            "connectivity": self.connectivity,
            "expansion_add": self.expansion_add,
            "expansion_search": self.expansion_search,
            "dtype": self.dtype,
            "threads": self.threads,
        }

    def _make(self, dim: int) -> Any:
        from usearch.index import Index

        return Index(
            ndim=dim,
            metric="cos",
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def add(self, ids: Sequence[Any] | np.ndarray, vectors: np.ndarray) -> UsearchIndex:
        mat = as_unit_rows(vectors, what="vectors", dim=self._dim)
        new = self._new_ids(ids, len(mat))
        if self._index is None:
            self._index = self._make(mat.shape[1])
            self._dim = mat.shape[1]
        start = len(self)
        keys = np.arange(start, start + len(mat), dtype=np.uint64)
        self._index.add(keys, mat, threads=self.threads)
        self._ids = new if not start else np.concatenate([self._ids, new])
        return self

    def search_positions(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row positions and cosine similarities; a query the graph answers with fewer than ``k``
        rows (rare; tiny or degenerate sets) is answered exactly, so every row has ``k``."""
        self._index.expansion_search = max(self.expansion_search, k)
        found = self._index.search(q, k, threads=self.threads)
        keys = np.asarray(found.keys, dtype=np.uint64).reshape(len(q), -1)
        dist = np.asarray(found.distances, dtype=np.float32).reshape(len(q), -1)
        counts = np.asarray(found.counts).reshape(-1) if hasattr(found, "counts") else np.full(len(q), k)
        pos = np.zeros((len(q), k), dtype=np.int64)
        sims = np.zeros((len(q), k), dtype=np.float32)
        width = min(k, keys.shape[1])
        pos[:, :width] = keys[:, :width].astype(np.int64)
        sims[:, :width] = 1.0 - dist[:, :width]
        short = np.flatnonzero(counts < k)
        vecs = None
        for row in short:  # recompute these exactly over the stored (quantised) vectors
            if vecs is None:
                vecs = np.asarray(self._index.get(np.arange(len(self), dtype=np.uint64)), dtype=np.float32)
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            sims_all = vecs @ q[row]
            top = np.lexsort((np.arange(len(sims_all)), -sims_all))[:k]
            pos[row], sims[row] = top, sims_all[top]
        return pos, sims

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        self._write_meta(p, self.get_params())
        if self._index is not None:
            self._index.save(str(p / "graph.usearch"))
        return p

    @classmethod
    def _load(cls, path: Path, meta: dict[str, Any]) -> UsearchIndex:
        index = cls(**meta.get("params", {}))
        index._ids = np.load(path / "ids.npy", allow_pickle=False)
        index._dim = meta.get("dim")
        if index._dim is not None:
            index._index = index._make(int(index._dim))
            index._index.load(str(path / "graph.usearch"))
        return index

    def __repr__(self) -> str:
        return f"UsearchIndex({len(self)} vectors, dim={self._dim}, {self.get_params()})"


# -- entry points ---------------------------------------------------------------------------------
def make_index(backend: str, **params: Any) -> VectorIndex:
    """An empty index of the registered ``backend`` (:class:`UnknownBackend` lists valid names)."""
    return indexes.create(backend, **params)


def build_index(
    vectors: np.ndarray,
    ids: Sequence[Any] | np.ndarray | None = None,
    *,
    backend: str = "auto",
    threshold: int = DEFAULT_THRESHOLD,
    **params: Any,
) -> VectorIndex:
    """An index of ``vectors`` under ``ids`` (default: row numbers).

    ``backend="auto"``: ``exact`` below ``threshold`` vectors, ``usearch`` from there (needs
    ``simap[ann]``; a missing package raises, never falls back). ``params`` go to the backend.
    """
    mat = as_unit_rows(vectors, what="vectors")
    keys = np.arange(len(mat)) if ids is None else ids
    name = backend
    if backend == "auto":
        name = "exact" if len(mat) < threshold else "usearch"
    if name == "usearch" and "threads" not in params and len(mat) < DETERMINISTIC_BELOW:
        params["threads"] = 1
    return make_index(name, **params).add(keys, mat)


def load_index(path: str | Path) -> VectorIndex:
    """Read an index written by ``save`` (any backend)."""
    p = Path(path)
    meta_path = p / "index.json"
    if not meta_path.exists():
        raise NotFound(f"no vector index at {p} (index.json missing).", hint="save one with index.save(path)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise InvalidInput(
            expected("the index format", str(FORMAT), meta.get("format")),
            source=str(meta_path),
            hint="rebuild the index with this version of simap.",
        )
    factory: Any = indexes.get(str(meta.get("backend")))
    loader = getattr(factory, "_load", None)
    if loader is None:  # pragma: no cover - plug-in backends without a loader
        raise InvalidInput(
            f"index backend {meta.get('backend')!r} cannot load a saved index.", source=str(meta_path)
        )
    return loader(p, meta)  # type: ignore[no-any-return]


__all__ = [
    "DEFAULT_THRESHOLD",
    "ExactIndex",
    "UsearchIndex",
    "VectorIndex",
    "as_unit_rows",
    "build_index",
    "indexes",
    "load_index",
    "make_index",
]
