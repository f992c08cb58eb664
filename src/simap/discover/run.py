"""Emerging patterns in a project: the sentences the codebook does not explain, clustered.

:func:`unexplained` scores every sentence against every active code with the project's
zero-shot coder (the same calibrated scores as coding) and keeps the sentences whose best code
score is below ``max_score`` (and that have at least ``min_words`` words). :func:`discover`
clusters them with :class:`~simap.discover.themes.ThemeModel` and proposes candidate codes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from simap.codebook.schema import Codebook
from simap.discover.candidates import Discovery, candidates
from simap.discover.themes import ThemeModel
from simap.errors import NotFound
from simap.progress import Progress, no_progress

DEFAULT_MAX_SCORE = 0.3
UNEXPLAINED_COLUMNS = ["venture_id", "field", "start", "end", "text", "best_code", "best_score"]


def sentence_scores(coder: Any, segments: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Calibrated score of every sentence for every code of a fitted zero-shot coder."""
    from simap.coding.zeroshot import sigmoid

    z, _, _ = coder.score_segments(segments.reset_index(drop=True))
    return sigmoid(z - coder.threshold_), list(coder.code_ids_)


def unexplained(
    segments: pd.DataFrame, scores: np.ndarray, code_ids: list[str], *, max_score: float, min_words: int = 4
) -> pd.DataFrame:
    """Sentences whose best code score is below ``max_score`` (UNEXPLAINED_COLUMNS)."""
    seg = segments.reset_index(drop=True)
    best = scores.max(axis=1) if scores.size else np.zeros(len(seg))
    arg = scores.argmax(axis=1) if scores.size else np.zeros(len(seg), dtype=int)
    words = seg["text"].astype(str).str.split().str.len().to_numpy()
    keep = (best < max_score) & (words >= min_words)
    out = seg.loc[keep, ["venture_id", "field", "start", "end", "text"]].copy()
    out["best_code"] = [code_ids[int(a)] for a in arg[keep]] if code_ids else None
    out["best_score"] = best[keep].astype(float)
    return out.reset_index(drop=True)[UNEXPLAINED_COLUMNS]


def discover(
    project: Any,
    *,
    codebook: str | Codebook | None = None,
    embedder: str = "static",
    coder_embedder: str | None = None,
    max_score: float = DEFAULT_MAX_SCORE,
    n_themes: int | None = None,
    min_ventures: int = 3,
    seed: int = 0,
    prefix: str = "EM",
    progress: Progress = no_progress,
    **model_params: Any,
) -> Discovery:
    """Find themes in the sentences of ``project`` that the codebook does not explain.

    ``coder_embedder`` (default: ``embedder``) scores sentences against the codebook;
    ``embedder`` embeds the unexplained sentences for clustering. ``progress("discover", step, 4)``:
    model loaded, sentences scored, unexplained sentences embedded and clustered, done.
    """
    from simap.embed import get_embedder
    from simap.store import repo

    t0 = time.perf_counter()
    book = project.current_codebook(codebook)
    segments = repo.load_segments(project.store)
    if segments.empty:
        raise NotFound(
            "this project has no sentences to discover themes in.", hint="run `simap import FILE` first"
        )
    progress("discover", 0, 4)
    scoring = coder_embedder or embedder
    corpus = segments["text"].tolist() if scoring == "tfidf" else None
    coder = project.make_coder(book, embedder=scoring, corpus=corpus)
    progress("discover", 1, 4)
    scores, code_ids = sentence_scores(coder, segments)
    progress("discover", 2, 4)
    rest = unexplained(segments, scores, code_ids, max_score=max_score)
    names = dict(
        zip(*[repo.load_ventures(project.store)[c].astype(str) for c in ("id", "name")], strict=True)
    )
    meta = [
        {
            "venture_name": names.get(str(r.venture_id), str(r.venture_id)),
            "field": r.field,
            "start": int(r.start),
            "end": int(r.end),
            "best_code": r.best_code,
            "best_score": round(float(r.best_score), 4),
        }
        for r in rest.itertuples(index=False)
    ]
    emb = get_embedder(embedder)
    if not getattr(emb, "cacheable", True):
        emb.fit(rest["text"].tolist())
    model = ThemeModel(emb, n_themes=n_themes, min_ventures=min_ventures, seed=seed, **model_params)
    model.fit(rest["text"].tolist(), rest["venture_id"].tolist(), meta)
    progress("discover", 3, 4)
    found = Discovery(
        codebook=book.name,
        codebook_version=book.version,
        n_sentences=len(segments),
        n_unexplained=len(rest),
        max_score=max_score,
        params=model.get_params() | {"coder": coder.key, "k": model.k_},
        themes=model.themes_,
        candidates=candidates(model.themes_, prefix=prefix),
        seconds=round(time.perf_counter() - t0, 3),
    )
    progress("discover", 4, 4)
    return found


__all__ = ["DEFAULT_MAX_SCORE", "UNEXPLAINED_COLUMNS", "discover", "sentence_scores", "unexplained"]
