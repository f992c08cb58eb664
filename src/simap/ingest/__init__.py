"""The ingest stage: read venture texts from files into VENTURES and DOCUMENTS frames.

``read(path)`` picks a reader from the registry ``readers`` (``jsonl``, ``csv``, ``xlsx``,
``folder``, ``dpg``; see :func:`detect_format`), maps fields with a :class:`FieldMapping`
(auto-detected by default) and validates every row. ``split_sentences`` and
``segment_documents`` cut texts into sentences with character offsets (SEGMENTS).
"""

from simap.ingest.core import jsonable, normalise_text, read
from simap.ingest.mapping import FieldMapping, ResolvedMapping, slugify
from simap.ingest.readers import Problem, RawRecord, detect_format, dpg_record, readers
from simap.ingest.segment import MAX_CHARS, segment_documents, split_sentences

__all__ = [
    "MAX_CHARS",
    "FieldMapping",
    "Problem",
    "RawRecord",
    "ResolvedMapping",
    "detect_format",
    "dpg_record",
    "jsonable",
    "normalise_text",
    "read",
    "readers",
    "segment_documents",
    "slugify",
    "split_sentences",
]
