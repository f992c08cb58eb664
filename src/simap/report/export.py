"""Export the coded ventures, one row per venture, as JSON Lines or CSV.

JSONL row::

    {"id", "name", "country", "sector", "codes": [present code ids, codebook order],
     "details": {code_id: {"score", "status", "source", "coder",
                           "evidence": [{"text", "field", "start", "end"[, "sentence",
                                         "sentence_start", "sentence_end"]}, ...]}}}

An evidence item is the best phrase inside the evidence sentence when the coder found one
(``text``, ``start``, ``end`` are the phrase's; ``sentence*`` the whole sentence's), else the
sentence or the span a reviewer selected.

``details`` holds the decisive assignment (see :mod:`simap.maps.select`) of every active code
the venture has one for, including rejected codes and suggestions below ``min_score``; ``codes``
lists only the codes that count as present.

CSV columns: ``id, name, country, sector, codes`` (";"-joined) and, per active code id,
``<id>_score, <id>_status, <id>_evidence`` (evidence texts joined with " | "); empty when the
venture has no assignment for the code.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from simap.cells import safe_row
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected
from simap.maps.select import check_min_score, evidence_list, present_mask, resolve_assignments, venture_table

FORMATS = ("jsonl", "csv")
EVIDENCE_SEPARATOR = " | "


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/NA -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _evidence(value: Any) -> list[dict[str, Any]]:
    """Evidence items for export: the best phrase inside the sentence when the coder found one
    (its text and document offsets), with the whole sentence kept as ``sentence``."""
    out = []
    for e in evidence_list(value):
        item = {
            "text": _clean(e.get("text")),
            "field": _clean(e.get("field")),
            "start": _clean(e.get("start")),
            "end": _clean(e.get("end")),
        }
        phrase = e.get("phrase")
        if isinstance(phrase, dict) and phrase.get("text"):
            item = item | {
                "text": _clean(phrase.get("text")),
                "start": _clean(phrase.get("start")),
                "end": _clean(phrase.get("end")),
                "sentence": item["text"],
                "sentence_start": item["start"],
                "sentence_end": item["end"],
            }
        out.append(item)
    return out


def export_records(
    ventures: pd.DataFrame,
    assignments: pd.DataFrame,
    codebook: Codebook,
    *,
    min_score: float = 0.5,
    include_suggestions: bool = True,
) -> list[dict[str, Any]]:
    """One JSON-ready dict per venture (ventures order), as written by :func:`export_codes`."""
    check_min_score(min_score)
    table = venture_table(ventures)
    ids = codebook.ids()
    order = {cid: i for i, cid in enumerate(ids)}
    resolved = resolve_assignments(assignments)
    resolved = resolved[resolved["code_id"].isin(order)]
    mask = present_mask(resolved, min_score=min_score, include_suggestions=include_suggestions)
    by_venture: dict[str, list[tuple[dict[str, Any], bool]]] = {}
    for rec, is_present in zip(resolved.to_dict("records"), mask.tolist(), strict=True):
        by_venture.setdefault(str(rec["venture_id"]), []).append((rec, bool(is_present)))
    out = []
    for v in table.to_dict("records"):
        rows = sorted(by_venture.get(v["id"], []), key=lambda item: order[item[0]["code_id"]])
        out.append(
            {
                "id": v["id"],
                "name": _clean(v["name"]),
                "country": _clean(v["country"]),
                "sector": _clean(v["sector"]),
                "codes": [rec["code_id"] for rec, is_present in rows if is_present],
                "details": {
                    rec["code_id"]: {
                        "score": _clean(rec["score"]),
                        "status": rec["status"],
                        "source": _clean(rec["source"]),
                        "coder": _clean(rec["coder"]),
                        "evidence": _evidence(rec["evidence"]),
                    }
                    for rec, _ in rows
                },
            }
        )
    return out


def csv_columns(codebook: Codebook) -> list[str]:
    cols = ["id", "name", "country", "sector", "codes"]
    for cid in codebook.ids():
        cols += [f"{cid}_score", f"{cid}_status", f"{cid}_evidence"]
    return cols


def _csv_row(record: dict[str, Any], codebook: Codebook) -> dict[str, Any]:
    row: dict[str, Any] = {
        k: "" if record[k] is None else record[k] for k in ("id", "name", "country", "sector")
    }
    row["codes"] = ";".join(record["codes"])
    for cid in codebook.ids():
        d = record["details"].get(cid)
        row[f"{cid}_score"] = "" if d is None or d["score"] is None else d["score"]
        row[f"{cid}_status"] = "" if d is None else d["status"]
        row[f"{cid}_evidence"] = (
            "" if d is None else EVIDENCE_SEPARATOR.join(str(e["text"]) for e in d["evidence"] if e["text"])
        )
    return row


def export_codes(
    ventures: pd.DataFrame,
    assignments: pd.DataFrame,
    codebook: Codebook,
    path: str | Path,
    fmt: str = "jsonl",
    *,
    min_score: float = 0.5,
    include_suggestions: bool = True,
) -> int:
    """Write one row per venture to ``path`` as ``"jsonl"`` or ``"csv"``; return the rows written."""
    if fmt not in FORMATS:
        raise InvalidInput(
            expected("the export format", f"one of {', '.join(FORMATS)}", fmt),
            field="fmt",
            hint=f"use fmt={FORMATS[0]!r} or fmt={FORMATS[1]!r}",
        )
    records = export_records(
        ventures, assignments, codebook, min_score=min_score, include_suggestions=include_suggestions
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with target.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "jsonl":
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
                n += 1
        else:
            writer = csv.DictWriter(fh, fieldnames=csv_columns(codebook))
            writer.writeheader()
            for record in records:
                writer.writerow(safe_row(_csv_row(record, codebook)))
                n += 1
    return n
