"""Existing human coding in: ``simap import-codes FILE --coder NAME``.

Accepted formats:

- JSONL, one venture per line: ``{"id": ..., "codes": [...], "evidence": {"B2": "quote", ...}}``
  (an evidence value may also be a list of quotes);
- CSV with a header: ``venture`` (or ``id``), ``code``, optional ``evidence``; one row per code.

A venture in the file counts as fully coded by that coder: the codebook's other codes are
recorded as *rejected* by the coder (``partial=True`` records only the listed codes). Evidence
quotes are located in the venture's texts (exact, then case-insensitive) so they carry
character offsets like machine evidence; a quote that cannot be found is kept as text and
reported.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, NotFound
from simap.review.agreement import coded_records
from simap.store import repo
from simap.store.db import Store


@dataclass
class HumanCodesStats:
    coder: str
    ventures: int = 0
    accepted: int = 0
    rejected: int = 0
    evidence_located: int = 0
    evidence_not_found: list[str] = field(default_factory=list)


def _quotes(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def read_human_codes(path: str | Path, codebook: Codebook) -> dict[str, dict[str, list[str]]]:
    """``{venture_id: {code_id: [evidence quotes]}}`` from a JSONL or CSV file, validated."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"human codes file {str(path)!r} does not exist.", hint="check the path")
    valid = set(codebook.ids())
    out: dict[str, dict[str, list[str]]] = {}

    def check(code: Any, line: int, fld: str) -> str:
        if not isinstance(code, str) or code not in valid:
            raise InvalidInput(
                f"code {code!r} is not in codebook {codebook.name!r} (codes: {', '.join(sorted(valid))}).",
                source=str(path),
                line=line,
                field=fld,
                hint="fix the code id or pass the codebook these codes come from with --codebook",
            )
        return code

    if path.suffix.lower() in {".csv", ".tsv"}:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            cols = {c.lower(): c for c in reader.fieldnames or []}
            vcol = cols.get("venture") or cols.get("id") or cols.get("venture_id")
            ccol = cols.get("code") or cols.get("code_id")
            ecol = cols.get("evidence")
            if not vcol or not ccol:
                raise InvalidInput(
                    f"expected a header with 'venture' (or 'id') and 'code'; got {reader.fieldnames}.",
                    source=str(path),
                    line=1,
                    hint="write a header row: venture,code,evidence",
                )
            for lineno, row in enumerate(reader, 2):
                vid = (row.get(vcol) or "").strip()
                if not vid:
                    raise InvalidInput(
                        "the venture id is empty.",
                        source=str(path),
                        line=lineno,
                        field=vcol,
                        hint="fill in the venture id",
                    )
                codes = out.setdefault(vid, {})
                code = (row.get(ccol) or "").strip()
                if code:
                    codes.setdefault(check(code, lineno, ccol), []).extend(
                        _quotes(row.get(ecol) if ecol else None)
                    )
        return out

    for lineno, rec in coded_records(path, what="human codes file"):
        evidence = rec.get("evidence") or {}
        if not isinstance(evidence, dict):
            raise InvalidInput(
                f"'evidence' must map code ids to quotes; got {type(evidence).__name__}.",
                source=str(path),
                line=lineno,
                field="evidence",
                hint='write e.g. "evidence": {"B2": "collects field data"}',
            )
        entry = out.setdefault(str(rec["id"]).strip(), {})
        for code in rec.get("codes", []):
            entry.setdefault(check(code, lineno, "codes"), []).extend(_quotes(evidence.get(code)))
    return out


def locate(quote: str, documents: pd.DataFrame) -> dict[str, Any]:
    """An evidence span {field, start, end, text} for ``quote`` in a venture's documents."""
    for fld, text in zip(documents["field"], documents["text"], strict=True):
        i = text.find(quote)
        if i < 0:
            i = text.lower().find(quote.lower())
        if i >= 0:
            return {"field": str(fld), "start": i, "end": i + len(quote), "text": text[i : i + len(quote)]}
    return {"text": quote}


def import_human_codes(
    store: Store,
    path: str | Path,
    *,
    coder: str,
    codebook: Codebook,
    partial: bool = False,
    skip_missing: bool = False,
) -> HumanCodesStats:
    """Load a coder's decisions into the project (one transaction; a bad line changes nothing)."""
    if not coder.strip() or coder.startswith(("zeroshot:", "supervised:")):
        raise InvalidInput(
            f"coder must name a person or team; got {coder!r}.",
            field="coder",
            hint="pass --coder with a name, e.g. --coder ana",
        )
    coded = read_human_codes(path, codebook)
    known = set(repo.load_ventures(store, list(coded))["id"])
    missing = [v for v in coded if v not in known]
    if missing and not skip_missing:
        raise InvalidInput(
            f"{len(missing)} venture ids are not in this project (e.g. {', '.join(missing[:5])}).",
            source=str(path),
            field="id",
            hint="import those ventures first, or pass --skip-missing",
        )
    version = repo.save_codebook(store, codebook, actor=coder)
    docs = repo.load_documents(store, [v for v in coded if v in known])
    docs_by = {vid: g for vid, g in docs.groupby("venture_id")}
    stats = HumanCodesStats(coder=coder)
    rows: list[dict[str, Any]] = []
    for vid, codes in coded.items():
        if vid not in known:
            continue
        stats.ventures += 1
        vdocs = docs_by.get(vid, pd.DataFrame(columns=["field", "text"]))
        for code_id in codebook.ids():
            if code_id in codes:
                evidence = []
                for q in codes[code_id]:
                    span = locate(q, vdocs)
                    if "start" in span:
                        stats.evidence_located += 1
                    else:
                        stats.evidence_not_found.append(f"{vid}/{code_id}: {q[:60]}")
                    evidence.append(span)
                rows.append(
                    {"venture_id": vid, "code_id": code_id, "status": "accepted", "evidence": evidence}
                )
                stats.accepted += 1
            elif not partial:
                rows.append({"venture_id": vid, "code_id": code_id, "status": "rejected", "evidence": []})
                stats.rejected += 1
    repo.save_human_codes(store, rows, coder=coder, codebook_version=version, source=str(path))
    return stats
