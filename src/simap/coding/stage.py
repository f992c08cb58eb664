"""The coding stage as a pure batch function, the unit an executor runs on a worker.

:class:`CodeBatch` carries what a fitted coder reads for a slice of ventures (SEGMENTS, and the
DOCUMENTS or VENTURES frames for the coders that ask for them); :func:`code_batch` turns it into
a SUGGESTIONS frame. Nothing here touches the database: the driver reads batches and commits
results, so workers on a cluster need neither the project's database nor its files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class CodeBatch:
    """One slice of the corpus: ``index`` counts batches from 0 within a run."""

    index: int
    venture_ids: list[str]
    segments: pd.DataFrame
    documents: pd.DataFrame | None = None
    ventures: pd.DataFrame | None = None


def needs(coder: Any) -> tuple[bool, bool]:
    """(documents, ventures): which frames besides SEGMENTS ``coder.predict`` reads."""
    return bool(getattr(coder, "needs_documents", False)), bool(getattr(coder, "needs_ventures", False))


def code_batch(coder: Any, batch: CodeBatch, **options: Any) -> pd.DataFrame:
    """SUGGESTIONS of ``coder`` for one batch (a pure function of the coder and the batch);
    ``options`` go to ``coder.predict``."""
    if batch.documents is not None:
        return coder.predict(batch.segments, documents=batch.documents, **options)
    if batch.ventures is not None:
        return coder.predict(batch.segments, ventures=batch.ventures, **options)
    return coder.predict(batch.segments, **options)


def code_batch_for_store(coder: Any, batch: CodeBatch) -> pd.DataFrame:
    """:func:`code_batch` with the evidence already as the JSON text the store writes (column
    ``evidence_json`` instead of ``evidence``): serialised on the worker, in parallel, and cheaper
    to send back to the driver than nested dicts."""
    from simap.coding.zeroshot import ZeroShotCoder

    if isinstance(coder, ZeroShotCoder):  # its predict (and the supervised coder's) writes the text
        return code_batch(coder, batch, evidence_json=True)
    out = code_batch(coder, batch)
    out["evidence_json"] = [json.dumps(e) for e in out.pop("evidence").tolist()]
    return out
