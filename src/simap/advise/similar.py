"""Ventures near each other by what they write: venture vectors and their nearest-neighbour index.

A venture's vector is the mean of its sentence embeddings (the SEGMENTS batch, embedded with the
project's embedder, the one its coding run used), L2-normalised; a venture without a sentence has
none. :class:`TextNeighbours` holds them in a :class:`simap.embed.index.VectorIndex`
(``build_index``: exact below its threshold, usearch HNSW above) and answers "which ventures are
most like this text / this venture". It is built on demand (embedding every sentence of the map;
with a cache-worthy embedder the project's embedding cache makes a rebuild cheap) and held by the
:class:`~simap.advise.diagnose.Advisor` like the rest of the :class:`AdviceIndex`; it is not
written to disk: a map of 10,000 ventures embeds in seconds with ``static``.

Uses: the "most similar ventures" of a diagnosis, the tie-break between equally strong peers
(:func:`simap.advise.recommend.find_peers`), and the nearest ventures outside a portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from simap.embed.index import VectorIndex, build_index

N_SIMILAR = 5


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
    def from_project(cls, project: Any, embedder: Any, cache: Any = None) -> TextNeighbours | None:
        """From every sentence of ``project``, embedded by ``embedder`` (through ``cache`` if given);
        None for a corpus-fitted sparse embedder (TF-IDF) or a project without text."""
        from simap.embed import embed_cached
        from simap.store import repo

        if not getattr(embedder, "cacheable", True):
            return None  # TF-IDF: sparse, corpus-bound vectors; no dense text index
        embed = embedder.embed if cache is None else (lambda texts: embed_cached(embedder, texts, cache))
        return cls.from_segments(
            repo.load_segments(project.store), embed, embedder_key=str(getattr(embedder, "key", ""))
        )

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
