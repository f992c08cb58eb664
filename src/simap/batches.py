"""Column contracts of the batches that flow between stages.

Stages take and return pandas DataFrames with these columns (and pure functions over them), so
the same code can later run partitioned on a distributed engine without rewriting.

VENTURES   one row per venture
    id: str, name: str, country: str | None, sector: str | None, year: int | None,
    metadata: dict (JSON-serialisable), source: str ("file:line" the row came from)

DOCUMENTS  one row per text field of a venture (several text fields are kept apart, each with its
           field name, so evidence offsets always point into an original text)
    venture_id: str, field: str, text: str

SEGMENTS   one row per sentence
    venture_id: str, field: str, seq: int (0-based within the document),
    start: int, end: int (character offsets into the document text), text: str

SUGGESTIONS one row per (venture, code) scored by a machine coder
    venture_id: str, code_id: str, score: float in [0, 1] (calibrated), raw: float,
    evidence: list[dict] (each {field, start, end, text, score}, best first)

ASSIGNMENTS one row per stored code assignment (what maps and reports read)
    venture_id, code_id, kind, source ("machine" | "human"), coder, score, status
    ("suggested" | "accepted" | "rejected"), evidence (list[dict] as above)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

VENTURE_COLUMNS = ["id", "name", "country", "sector", "year", "metadata", "source"]
DOCUMENT_COLUMNS = ["venture_id", "field", "text"]
SEGMENT_COLUMNS = ["venture_id", "field", "seq", "start", "end", "text"]
SUGGESTION_COLUMNS = ["venture_id", "code_id", "score", "raw", "evidence"]
ASSIGNMENT_COLUMNS = ["venture_id", "code_id", "kind", "source", "coder", "score", "status", "evidence"]


def empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass
class SkippedRow:
    """A row that ``--skip-invalid`` left out, with the reason."""

    source: str
    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.reason}"


@dataclass
class IngestBatch:
    ventures: pd.DataFrame
    documents: pd.DataFrame
    skipped: list[SkippedRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ventures)
