"""Demo corpus shipped with simap: 45 technology-for-good ventures and a hand-coded gold set.

``ventures.jsonl`` holds one venture per line (``id``, ``name``, ``description``, ``country``,
``sector``, ``year``, ``website`` and, for some ventures, ``interview``). Descriptions are short
summaries of public facts written for this package. The ``interview`` texts are *fictional
illustrations* of what a founder might say (they give evidence for the ecosystem challenges
C1-C5, which descriptions rarely reveal); they are not real quotes.

``gold.jsonl`` holds one line per venture: ``{"id", "codes", "evidence"}`` coded against the
default ``social-innovation`` codebook (DP1-DP5, B1-B4, C1-C5). Each evidence quote is an exact
substring of the venture's description or interview. The demo is independent of any held-out
evaluation data.

``demo.qdpx`` is the same corpus with the gold codes as a REFI-QDA project (for NVivo, ATLAS.ti,
MAXQDA, QualCoder), written by ``python -m simap.demo.make_qdpx``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from simap.errors import InvalidInput

__all__ = ["GOLD_PATH", "QDPX_PATH", "VENTURES_PATH", "load_gold", "load_gold_records", "load_ventures"]

_ROOT = resources.files(__name__)
VENTURES_PATH: Traversable = _ROOT / "ventures.jsonl"
GOLD_PATH: Traversable = _ROOT / "gold.jsonl"
QDPX_PATH: Traversable = _ROOT / "demo.qdpx"

PathLike = str | os.PathLike[str] | Traversable


def _read_jsonl(path: PathLike) -> list[dict[str, Any]]:
    src: Traversable | Path = Path(path) if isinstance(path, str | os.PathLike) else path
    records: list[dict[str, Any]] = []
    with src.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    f"not valid JSON ({exc.msg}).",
                    source=str(path),
                    line=lineno,
                    hint="each line must be one JSON object",
                ) from exc
            if not isinstance(obj, dict):
                raise InvalidInput(
                    f"expected a JSON object, got {type(obj).__name__}.",
                    source=str(path),
                    line=lineno,
                    hint="each line must be one JSON object",
                )
            records.append(obj)
    return records


def load_ventures(path: PathLike = VENTURES_PATH) -> list[dict[str, Any]]:
    """Return the venture records (dicts) from a JSONL file, in file order."""
    return _read_jsonl(path)


def load_gold_records(path: PathLike = GOLD_PATH) -> list[dict[str, Any]]:
    """Return the raw gold records (``id``, ``codes``, ``evidence``) from a JSONL file."""
    return _read_jsonl(path)


def load_gold(path: PathLike = GOLD_PATH) -> dict[str, set[str]]:
    """Return ``{venture_id: {code_id, ...}}`` from a gold JSONL file.

    Ventures coded with no codes map to ``set()``.
    """
    gold: dict[str, set[str]] = {}
    for lineno, rec in enumerate(_read_jsonl(path), start=1):
        vid = rec.get("id")
        codes = rec.get("codes", [])
        if not isinstance(vid, str) or not vid:
            raise InvalidInput(
                "missing or empty 'id'.",
                source=str(path),
                field="id",
                hint=f"record #{lineno} needs a string id",
            )
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise InvalidInput(
                "'codes' must be a list of code ids.",
                source=str(path),
                field="codes",
                hint=f"fix record {vid!r}",
            )
        if vid in gold:
            raise InvalidInput(
                f"duplicate id {vid!r}.",
                source=str(path),
                field="id",
                hint="each venture may appear once in a gold file",
            )
        gold[vid] = set(codes)
    return gold
