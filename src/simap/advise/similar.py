"""Ventures near each other by what they write: venture vectors and their nearest-neighbour index.

A venture's vector is the mean of its sentence embeddings (the SEGMENTS batch, embedded with the
project's embedder, the one its coding run used), L2-normalised; a venture without a sentence has
none. :class:`TextNeighbours` holds them in a :class:`simap.embed.index.VectorIndex`
(``build_index``: exact below its threshold, usearch HNSW above) and answers "which ventures are
most like this text / this venture". It is built on demand (embedding every sentence of the map;
with a cache-worthy embedder the project's embedding cache makes that cheaper) and held by the
:class:`~simap.advise.diagnose.Advisor` like the rest of the :class:`AdviceIndex`.

``from_project`` also saves it in the project's cache folder, so that the next process loads it
instead of building it (at 100k ventures: 51 s to embed and build, 0.8 s to load; docs/benchmarks.md)::

    <project>.simap-cache/venture-index/<fingerprint>/   manifest.json, ids.npy, vectors.npy, index/

The fingerprint (:func:`text_key`) is a SHA-1 of the embedder key, the index settings and
``repo.text_fingerprint`` (every document's venture id, field and text SHA-1): a changed venture
text or another model gives another folder, and the old one is removed once the new one is in
place. A copy is written in a temporary folder and renamed into place; ``manifest.json`` holds the
SHA-1 of each file, and a copy whose files do not match (partial, damaged) is deleted and rebuilt.

Uses: the "most similar ventures" of a diagnosis, the tie-break between equally strong peers
(:func:`simap.advise.recommend.find_peers`), and the nearest ventures outside a portfolio.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.embed import index as vector_index
from simap.embed.index import VectorIndex, build_index, load_index
from simap.errors import SimapError

N_SIMILAR = 5
SAVED_FORMAT = 1
"""Version of the saved venture index (its layout and how venture vectors are made); part of the key."""
SAVED_FOLDER = "venture-index"


def project_embedder(project: Any, book: Any, min_score: float, name: str | None = None) -> tuple[Any, Any]:
    """(embedder, cache) of ``project``'s latest coding run of ``book`` (or the backend ``name``),
    without fitting a coder; the cache is the project's embedding cache for cache-worthy models."""
    from simap.embed import get_embedder
    from simap.store import repo

    params: dict[str, Any] = dict(project.report_meta(book, min_score, True).get("params") or {})
    run = str(params.get("embedder") or "").split(":")[0] or None
    chosen = name or run or "static"
    emb_params = params.get("embedder_params") if chosen == run else None
    embedder = get_embedder(chosen, **(emb_params if isinstance(emb_params, dict) else {}))
    cache = repo.DbEmbeddingCache(project.store) if getattr(embedder, "cache_worthy", False) else None
    return embedder, cache


def venture_vectors(segments: pd.DataFrame, embed: Any, *, batch: int = 4096) -> tuple[list[str], np.ndarray]:
    """(venture ids, unit vectors): the mean sentence embedding of each venture in ``segments``.

    ``segments``: a SEGMENTS batch; ``embed``: a callable from a list of texts to a dense matrix
    (an embedder's ``embed`` or a coder's cached ``_embed``). Ventures whose sentences are all
    empty, or whose mean is the zero vector, are left out.
    """
    seg = segments[segments["text"].astype(str).str.strip() != ""]
    if seg.empty:
        return [], np.zeros((0, 0), dtype=np.float32)
    texts = seg["text"].astype(str).tolist()
    parts = []
    for s in range(0, len(texts), batch):
        mat = embed(texts[s : s + batch])
        if sparse.issparse(mat):
            mat = mat.toarray()
        parts.append(np.asarray(mat, dtype=np.float32))
    vecs = np.concatenate(parts)
    codes, uniques = pd.factorize(seg["venture_id"].astype(str), sort=False)
    sums = np.zeros((len(uniques), vecs.shape[1]), dtype=np.float64)
    np.add.at(sums, codes, vecs)
    norms = np.linalg.norm(sums, axis=1)
    keep = norms > 0
    out = (sums[keep] / norms[keep, None]).astype(np.float32)
    return [str(u) for u, k in zip(uniques, keep, strict=True) if k], out


def saved_folder(store: Any) -> Path | None:
    """Where ``from_project`` saves venture indexes: ``venture-index`` in the project's cache
    folder (:func:`simap.embed.parquet_cache.project_cache_dir`); None for an in-memory database."""
    from simap.embed.parquet_cache import project_cache_dir

    if getattr(store, "is_sqlite", False) and getattr(store, "path", None) is None:
        return None
    return project_cache_dir(store) / SAVED_FOLDER


def text_key(store: Any, embedder_key: str) -> str:
    """The key of a saved venture index: SHA-1 of the embedder key, the index settings
    (``build_index``'s exact/usearch threshold and format) and the ventures' texts
    (``repo.text_fingerprint``)."""
    from simap.store import repo

    parts = [
        f"venture-index {SAVED_FORMAT}",
        embedder_key,
        f"index {vector_index.FORMAT} auto {vector_index.DEFAULT_THRESHOLD}",
        repo.text_fingerprint(store),
    ]
    return hashlib.sha1("\0".join(parts).encode("utf-8")).hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _file_sha1(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha1").hexdigest()


@dataclass
class TextNeighbours:
    """Venture vectors of one map and their index (ids: venture ids)."""

    ids: list[str]
    vectors: np.ndarray
    index: VectorIndex
    embed: Any
    embedder_key: str = ""

    def __post_init__(self) -> None:
        self.row_of = {vid: i for i, vid in enumerate(self.ids)}

    @classmethod
    def from_segments(
        cls, segments: pd.DataFrame, embed: Any, *, embedder_key: str = "", **index_params: Any
    ) -> TextNeighbours | None:
        """Build from a SEGMENTS batch; None when no venture has text (nothing to compare)."""
        ids, vecs = venture_vectors(segments, embed)
        if not ids:
            return None
        return cls(ids, vecs, build_index(vecs, ids, **index_params), embed, embedder_key)

    @classmethod
    def from_project(
        cls, project: Any, embedder: Any, cache: Any = None, *, persist: bool = True
    ) -> TextNeighbours | None:
        """From every sentence of ``project``, embedded by ``embedder`` (through ``cache`` if given);
        None for a corpus-fitted sparse embedder (TF-IDF) or a project without text. Loaded from
        the copy saved in the project's cache folder when its key matches, else built and saved
        there (``persist=False``: neither)."""
        from simap.embed import embed_cached
        from simap.store import repo

        if not getattr(embedder, "cacheable", True):
            return None  # TF-IDF: sparse, corpus-bound vectors; no dense text index
        embed = embedder.embed if cache is None else (lambda texts: embed_cached(embedder, texts, cache))
        key = str(getattr(embedder, "key", ""))
        folder = saved_folder(project.store)
        if folder is None or not persist:
            return cls.from_segments(repo.load_segments(project.store), embed, embedder_key=key)
        fingerprint = text_key(project.store, key)
        saved = cls.load(folder / fingerprint[:20], embed, fingerprint=fingerprint)
        if saved is not None:
            return saved
        built = cls.from_segments(repo.load_segments(project.store), embed, embedder_key=key)
        if built is not None:
            with contextlib.suppress(OSError):  # read-only or full disk: the next process builds it again
                built.save(folder / fingerprint[:20], fingerprint=fingerprint)
        return built

    def save(self, path: str | Path, *, fingerprint: str = "") -> Path:
        """Write to the folder ``path`` (a temporary folder renamed into place; an existing copy is
        kept) and remove the other copies next to it; returns ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            np.save(tmp / "ids.npy", np.asarray(self.ids, dtype=str), allow_pickle=False)
            np.save(tmp / "vectors.npy", self.vectors, allow_pickle=False)
            self.index.save(tmp / "index")
            manifest = {
                "format": SAVED_FORMAT,
                "fingerprint": fingerprint,
                "embedder": self.embedder_key,
                "n": len(self),
                "files": {rel: _file_sha1(tmp / rel) for rel in _files(tmp)},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / "manifest.json").exists():
                    raise  # not a copy written meanwhile by another process
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for other in target.parent.iterdir():
            if other != target and not other.name.startswith(".") and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)  # copies of earlier texts or models
        return target

    @classmethod
    def load(cls, path: str | Path, embed: Any, *, fingerprint: str = "") -> TextNeighbours | None:
        """The copy saved in ``path``; None when there is none, and None with the folder deleted
        when it was saved under another ``fingerprint`` or a file (the manifest included) is
        missing, extra or does not match its SHA-1."""
        folder = Path(path)
        if not folder.exists():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            files = manifest["files"]
            if (
                manifest.get("format") != SAVED_FORMAT
                or manifest.get("fingerprint") != fingerprint
                or set(files) != set(_files(folder)) - {"manifest.json"}
                or any(_file_sha1(folder / rel) != digest for rel, digest in files.items())
            ):
                raise ValueError("stale or damaged copy")
            ids = [str(v) for v in np.load(folder / "ids.npy", allow_pickle=False)]
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
            index = load_index(folder / "index")
            if not (len(ids) == len(vectors) == len(index) == manifest["n"]):
                raise ValueError("sizes differ")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, SimapError):
            shutil.rmtree(folder, ignore_errors=True)
            return None
        return cls(ids, vectors, index, embed, str(manifest.get("embedder") or ""))

    def __len__(self) -> int:
        return len(self.ids)

    def vector_of(self, venture_id: str) -> np.ndarray | None:
        row = self.row_of.get(venture_id)
        return None if row is None else self.vectors[row]

    def embed_texts(self, texts: Mapping[str, str]) -> np.ndarray | None:
        """The vector of a text the way venture vectors are made (its sentences' mean); None if empty."""
        from simap.ingest.segment import segment_documents

        docs = pd.DataFrame(
            [{"venture_id": "__query__", "field": f, "text": t} for f, t in texts.items() if t and t.strip()],
            columns=["venture_id", "field", "text"],
        )
        if docs.empty:
            return None
        _ids, vecs = venture_vectors(segment_documents(docs), self.embed)
        return vecs[0] if len(vecs) else None

    def nearest(
        self, vector: np.ndarray, k: int = N_SIMILAR, *, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """The ``k`` ventures nearest ``vector`` (venture id, cosine), best first, without ``exclude``."""
        return self.nearest_many(vector[None, :], k, exclude=exclude)[0]

    def nearest_many(
        self, vectors: np.ndarray, k: int = N_SIMILAR, *, exclude: Iterable[str] = ()
    ) -> list[list[tuple[str, float]]]:
        """:meth:`nearest` for each row of ``vectors`` (one index call)."""
        skip = set(exclude)
        want = min(len(self), k + len(skip))
        if want <= 0 or not len(vectors):
            return [[] for _ in range(len(vectors))]
        ids, sims = self.index.search(vectors, want)
        return [
            [(str(i), float(s)) for i, s in zip(row_ids, row_sims, strict=True) if str(i) not in skip][:k]
            for row_ids, row_sims in zip(ids, sims, strict=True)
        ]

    def similarity(self, venture_ids: Sequence[str], vector: np.ndarray) -> np.ndarray:
        """Cosine of each venture to ``vector`` (NaN for a venture without text)."""
        out = np.full(len(venture_ids), np.nan, dtype=np.float32)
        rows = [(i, self.row_of[v]) for i, v in enumerate(venture_ids) if v in self.row_of]
        if rows:
            at, vr = zip(*rows, strict=True)
            out[list(at)] = self.vectors[list(vr)] @ np.asarray(vector, dtype=np.float32)
        return out
