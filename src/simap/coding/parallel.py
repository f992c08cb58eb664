"""Run a fitted coder over a SEGMENTS batch on several cores.

The batch is split by venture into one part per worker; forked workers inherit the fitted coder
(no pickling of models) and return SUGGESTIONS parts, concatenated in order. Coders whose
embedder runs on PyTorch are not forked (PyTorch is not fork-safe once its thread pool started):
they use ``workers`` intra-op threads in this process instead.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

_CODER: Any = None
_VENTURES: pd.DataFrame | None = None
TORCH_BACKENDS = {"minilm"}


def _predict(coder: Any, segments: pd.DataFrame, ventures: pd.DataFrame | None) -> pd.DataFrame:
    # only coders with a venture-level model read the ventures (the learning coder)
    return coder.predict(segments) if ventures is None else coder.predict(segments, ventures=ventures)


def _predict_part(segments: pd.DataFrame) -> pd.DataFrame:
    return _predict(_CODER, segments, _VENTURES)


def split_by_venture(segments: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    ids = pd.unique(segments["venture_id"])
    groups = np.array_split(ids, parts)
    return [segments[segments["venture_id"].isin(set(g))] for g in groups if len(g)]


def predict_parallel(
    coder: Any, segments: pd.DataFrame, *, workers: int = 1, ventures: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``coder.predict`` over ``segments`` on ``workers`` cores; ``ventures`` is passed on when given."""
    global _CODER, _VENTURES
    workers = max(1, min(workers, os.cpu_count() or 1))
    embedder_name = getattr(getattr(coder, "embedder", None), "name", "")
    if embedder_name in TORCH_BACKENDS:
        try:
            import torch

            torch.set_num_threads(workers)
        except ImportError:  # pragma: no cover - the backend itself reports the missing extra
            pass
        return _predict(coder, segments, ventures)
    if workers == 1 or len(segments) < 2000 or "fork" not in mp.get_all_start_methods():
        return _predict(coder, segments, ventures)
    parts = split_by_venture(segments, workers)
    cache = getattr(coder, "cache", None)
    _CODER, _VENTURES = coder, ventures
    coder.cache = None  # database connections are not shared with forked workers
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            results = list(pool.map(_predict_part, parts))
    finally:
        coder.cache = cache
        _CODER = _VENTURES = None
    return pd.concat(results, ignore_index=True)
