"""Projects as REFI-QDA QDPX: a ZIP holding ``project.qde`` (``Project.xsd`` 1.0) and ``sources/``.

Export (:func:`export_qdpx`), what goes where:

=====================================  ===========================================================
simap                                  REFI-QDA
=====================================  ===========================================================
venture                                ``<Case>`` (name = venture name) with ``<VariableValue>``\\ s:
                                       ``simap id``, ``country``, ``sector``, ``year`` and every
                                       metadata field (typed; lists and objects as JSON text)
text field of a venture (document)     ``<TextSource>`` ``sources/<GUID>.txt`` (UTF-8, no BOM, LF),
                                       variable ``simap field`` = the field name
human coder / machine coder            ``<User>`` each; a machine coder is named
                                       ``simap machine coder (<coder key>)``
accepted code with evidence            one ``<PlainTextSelection>`` per evidence span
                                       (code points, exclusive end; ``name`` = the quote) with a
                                       ``<Coding>`` by the coder
accepted code without evidence         a ``<Coding>`` on the venture's first source
machine suggestion >= ``min_score``    as above, by the machine's user; the selection's
                                       ``<Description>`` keeps rank and score (without
                                       evidence: a selection of the whole first text)
human rejection                        a ``<Note>`` "Rejected: <code>" by the coder on the
                                       venture's first source (REFI-QDA has no negative coding)
memo of a decision                     a ``<Note>`` by the coder, referenced from its ``<Coding>``
codebook                               ``<CodeBook>`` (see :mod:`simap.interop.qdc`)
=====================================  ===========================================================

Every GUID is ``uuid5`` of what it stands for, and the ZIP entries carry a fixed date, so the same
project gives the same bytes. Import (:func:`import_qdpx`) reads the same mapping back and reads
what other tools write (see ``docs/interop.md``).
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement

import pandas as pd

from simap.codebook.schema import Codebook
from simap.errors import SimapError
from simap.interop.common import NS_PROJECT, ORIGIN, make_guid, schema_errors
from simap.interop.qdc import code_guid, codes_element, serialize
from simap.interop.safety import parse_xml
from simap.maps.select import evidence_list

MACHINE_USER = re.compile(r"^simap machine coder \((?P<key>.+)\)$")
SIMAP_TAG = "[simap] "
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
RESERVED_VARIABLES = {"simap id": "id", "country": "country", "sector": "sector", "year": "year"}
FIELD_VARIABLE = "simap field"
JSON_MARK = "simap: the values are JSON"


def machine_user_name(coder: str) -> str:
    return f"simap machine coder ({coder})"


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _decimal(value: float) -> str:
    return format(Decimal(repr(float(value))), "f")


@dataclass
class ExportStats:
    path: Path
    ventures: int = 0
    sources: int = 0
    selections: int = 0
    codings: int = 0
    users: int = 0
    notes: int = 0
    not_exported: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.not_exported[reason] = self.not_exported.get(reason, 0) + 1


def _variable_type(values: Iterable[Any]) -> str:
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return "Boolean"
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "Integer"
    if vals and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in vals
    ):
        return "Float"
    if all(isinstance(v, str) for v in vals):
        return "Text"
    return "JSON"


def _value_element(parent: Element, var_guid: str, kind: str, value: Any) -> None:
    vv = SubElement(parent, "VariableValue")
    SubElement(vv, "VariableRef", {"targetGUID": var_guid})
    if kind == "Boolean":
        SubElement(vv, "BooleanValue").text = "true" if value else "false"
    elif kind == "Integer":
        SubElement(vv, "IntegerValue").text = str(int(value))
    elif kind == "Float":
        SubElement(vv, "FloatValue").text = _decimal(value)
    elif kind == "Text":
        SubElement(vv, "TextValue").text = str(value)
    else:
        SubElement(vv, "TextValue").text = json.dumps(value, ensure_ascii=False, sort_keys=True)


def _stamp(value: Any) -> str | None:
    """An xsd:dateTime in UTC (``...Z``) for a stored timestamp; None when there is none."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    when = pd.Timestamp(value)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _coding(key: str, n: int, user: str, target: str, memo_guid: str | None, when: str | None) -> Element:
    c = Element("Coding", {"guid": make_guid("coding", key, n), "creatingUser": user})
    if when:
        c.set("creationDateTime", when)
    SubElement(c, "CodeRef", {"targetGUID": target})
    if memo_guid and n == 0:
        SubElement(c, "NoteRef", {"targetGUID": memo_guid})
    return c


def build_project(
    *,
    name: str,
    ventures: pd.DataFrame,
    documents: pd.DataFrame,
    assignments: pd.DataFrame,
    codebook: Codebook,
    min_score: float = 0.5,
    path: Path,
    timestamps: bool = True,
    rejections: bool = True,
) -> tuple[bytes, dict[str, bytes], ExportStats]:
    """``(project.qde bytes, {sources/<GUID>.txt: bytes}, stats)`` for the given frames."""
    stats = ExportStats(path=path)
    book_codes = {c.id: c for c in codebook.codes}
    texts: dict[tuple[str, str], str] = {}
    fields_of: dict[str, list[str]] = {}
    for vid, fld, text in zip(documents["venture_id"], documents["field"], documents["text"], strict=True):
        texts[(str(vid), str(fld))] = str(text)
        fields_of.setdefault(str(vid), []).append(str(fld))

    def source_guid(vid: str, fld: str) -> str:
        return make_guid("source", vid, fld)

    # which coders appear, and which rows become codings / notes
    rows = []
    for rec in assignments.to_dict("records"):
        code_id = str(rec["code_id"])
        if code_id not in book_codes:
            stats.skip("assignments of codes that are not in the codebook")
            continue
        status, source = str(rec["status"]), str(rec["source"])
        score = _clean(rec.get("score"))
        if source == "machine":
            if status == "rejected" or (status == "suggested" and (score is None or score < min_score)):
                stats.skip(f"machine suggestions below min_score {min_score}")
                continue
        elif status not in ("accepted", "rejected"):
            stats.skip("human suggestions (neither accepted nor rejected)")
            continue
        rows.append(rec)
    rows.sort(key=lambda r: (str(r["venture_id"]), str(r["code_id"]), str(r["source"]), str(r["coder"])))
    coders: dict[str, str] = {}  # coder -> source
    for rec in rows:
        coders.setdefault(str(rec["coder"]), str(rec["source"]))
    user_guid = {c: make_guid("user", c) for c in coders}

    root = Element("Project", {"name": name, "origin": f"{ORIGIN} (codebook {codebook.name})"})
    if coders:
        users = SubElement(root, "Users")
        for coder in sorted(coders, key=lambda c: (coders[c] != "human", c)):
            attrs = {"guid": user_guid[coder]}
            if coders[coder] == "machine":
                attrs |= {"name": machine_user_name(coder), "id": "machine"}
            else:
                attrs["name"] = coder
            SubElement(users, "User", attrs)
        stats.users = len(coders)
    codebook_el = SubElement(root, "CodeBook")
    codebook_el.append(codes_element(codebook, NS_PROJECT))

    # variables: reserved ones, then metadata keys in first-seen order
    vrecs = [{k: _clean(v) for k, v in rec.items()} for rec in ventures.to_dict("records")]
    meta_keys: dict[str, list[Any]] = {}
    for rec in vrecs:
        for key, value in (rec.get("metadata") or {}).items():
            meta_keys.setdefault(str(key), []).append(value)
    variables: dict[str, tuple[str, str]] = {}  # variable name -> (guid, type)
    for var, kind in (("simap id", "Text"), ("country", "Text"), ("sector", "Text"), ("year", "Integer")):
        variables[var] = (make_guid("variable", var), kind)
    variables[FIELD_VARIABLE] = (make_guid("variable", FIELD_VARIABLE), "Text")
    meta_var: dict[str, str] = {}
    for key, values in meta_keys.items():
        var = key if key not in variables else f"metadata.{key}"
        meta_var[key] = var
        variables[var] = (make_guid("variable", var), _variable_type(values))
    vars_el = SubElement(root, "Variables")
    for var, (guid, kind) in variables.items():
        v = SubElement(
            vars_el,
            "Variable",
            {"guid": guid, "name": var, "typeOfVariable": "Text" if kind == "JSON" else kind},
        )
        if kind == "JSON":
            SubElement(v, "Description").text = JSON_MARK

    cases_el = SubElement(root, "Cases")
    for rec in vrecs:
        vid = str(rec["id"])
        case = SubElement(
            cases_el, "Case", {"guid": make_guid("case", vid), "name": str(rec.get("name") or vid)}
        )
        for var, value in (
            ("simap id", vid),
            ("country", rec.get("country")),
            ("sector", rec.get("sector")),
            ("year", rec.get("year")),
        ):
            if value is not None:
                _value_element(case, variables[var][0], variables[var][1], value)
        for key, value in (rec.get("metadata") or {}).items():
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                continue
            guid, kind = variables[meta_var[str(key)]]
            if kind in ("Integer", "Float") and isinstance(value, bool):
                kind = "JSON"
            _value_element(case, guid, kind, value)
        for fld in fields_of.get(vid, []):
            SubElement(case, "SourceRef", {"targetGUID": source_guid(vid, fld)})
        stats.ventures += 1

    # selections, codings and notes per source
    notes: list[Element] = []
    per_source: dict[tuple[str, str], dict[str, list[Element]]] = {}

    def bucket(vid: str, fld: str) -> dict[str, list[Element]]:
        return per_source.setdefault((vid, fld), {"selections": [], "codings": [], "noterefs": []})

    def note(
        guid: str, name_: str, text: str, user: str, description: str | None = None, when: str | None = None
    ) -> None:
        el = Element("Note", {"guid": guid, "name": name_, "creatingUser": user})
        if when:
            el.set("creationDateTime", when)
        if description:
            SubElement(el, "Description").text = description
        SubElement(el, "PlainTextContent").text = text
        notes.append(el)

    for rec in rows:
        vid, code_id, coder = str(rec["venture_id"]), str(rec["code_id"]), str(rec["coder"])
        code = book_codes[code_id]
        user = user_guid[coder]
        memo = _clean(rec.get("memo"))
        when = _stamp(rec.get("created_at")) if timestamps else None
        flds_of_v = fields_of.get(vid)
        first_field = flds_of_v[0] if flds_of_v else None
        key = f"{vid}:{code_id}:{coder}"
        if rec["status"] == "rejected":
            if not rejections:
                stats.skip("rejections (left out on request)")
                continue
            if first_field is None:
                stats.skip("rejections on ventures without text")
                continue
            guid = make_guid("rejection", key)
            note(
                guid,
                f"Rejected: {code.name}",
                memo or f"{coder} decided that code {code.name!r} does not apply.",
                user,
                f"{SIMAP_TAG}rejected code={code_guid(codebook, code_id)}" + ("" if memo else "; memo=none"),
                when,
            )
            bucket(vid, first_field)["noterefs"].append(Element("NoteRef", {"targetGUID": guid}))
            stats.notes += 1
            continue
        memo_guid = None
        if memo:
            memo_guid = make_guid("memo", key)
            note(memo_guid, f"Memo: {code.name}", str(memo), user, None, when)
            stats.notes += 1
        spans = []
        for rank, ev in enumerate(evidence_list(rec.get("evidence")), start=1):
            fld, start, end = ev.get("field"), ev.get("start"), ev.get("end")
            text = texts.get((vid, str(fld))) if fld is not None else None
            if text is None or start is None or end is None or not 0 <= int(start) <= int(end) <= len(text):
                stats.skip("evidence quotes without a position in the venture's texts")
                continue
            spans.append((rank, str(fld), int(start), int(end)))
        score = _clean(rec.get("score"))
        is_machine = str(rec["source"]) == "machine"
        target = code_guid(codebook, code_id)

        if not spans and is_machine and first_field is not None:
            # a machine code without evidence: the whole first text, so that its score has a place
            spans = [(0, first_field, 0, len(texts[(vid, first_field)]))]
        if not spans:
            if first_field is None:
                stats.skip("codes on ventures without text")
                continue
            bucket(vid, first_field)["codings"].append(_coding(key, 0, user, target, memo_guid, when))
            stats.codings += 1
            continue
        for n, (rank, fld, start, end) in enumerate(spans):
            sel = Element(
                "PlainTextSelection",
                {
                    "guid": make_guid("selection", key, fld, start, end),
                    "name": texts[(vid, fld)][start:end],
                    "startPosition": str(start),
                    "endPosition": str(end),
                    "creatingUser": user,
                },
            )
            desc = f"{SIMAP_TAG}evidence {rank}" if rank else f"{SIMAP_TAG}whole text"
            if is_machine and score is not None:
                desc += f"; score {float(score)!r}"
            SubElement(sel, "Description").text = desc
            sel.append(_coding(key, n, user, target, memo_guid, when))
            bucket(vid, fld)["selections"].append(sel)
            stats.selections += 1
            stats.codings += 1

    sources_el = SubElement(root, "Sources")
    files: dict[str, bytes] = {}
    names = {str(r["id"]): str(r.get("name") or r["id"]) for r in vrecs}
    for vid, flds in fields_of.items():
        for fld in flds:
            guid = source_guid(vid, fld)
            src = SubElement(
                sources_el,
                "TextSource",
                {
                    "guid": guid,
                    "name": f"{names.get(vid, vid)} ({fld})",
                    "plainTextPath": f"internal://{guid}.txt",
                },
            )
            b = per_source.get((vid, fld), {"selections": [], "codings": [], "noterefs": []})
            for part in ("selections", "codings", "noterefs"):
                src.extend(b[part])
            _value_element(src, variables[FIELD_VARIABLE][0], "Text", fld)
            files[f"sources/{guid}.txt"] = texts[(vid, fld)].replace("\r\n", "\n").encode("utf-8")
            stats.sources += 1
    if notes:
        SubElement(root, "Notes").extend(notes)
    return serialize(root, NS_PROJECT), files, stats


def write_zip(path: Path, qde: bytes, files: dict[str, bytes]) -> None:
    """``project.qde`` first, then the sources sorted; fixed dates, so equal input gives equal bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("project.qde", qde), *sorted(files.items())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(path)


def export_qdpx(
    store: Any,
    path: str | Path,
    *,
    codebook: Codebook,
    min_score: float = 0.5,
    name: str | None = None,
    validate: bool = True,
    timestamps: bool = True,
    rejections: bool = True,
) -> ExportStats:
    """Write the project in ``store`` as a QDPX (see the module docs); checked against Project.xsd.

    ``timestamps`` writes each decision's time as ``creationDateTime`` (an import replays the
    decisions in that order, which decides between coders who disagree); without them the same
    project always gives the same bytes. ``rejections=False`` leaves the rejection notes out (other
    tools show each as a memo)."""
    from simap.store import repo

    target = Path(path)
    qde, files, stats = build_project(
        name=name or "simap project",
        ventures=repo.load_ventures(store),
        documents=repo.load_documents(store),
        assignments=repo.load_assignment_rows(store),
        codebook=codebook,
        min_score=min_score,
        path=target,
        timestamps=timestamps,
        rejections=rejections,
    )
    if validate:
        errors = schema_errors(parse_xml(qde, source="project.qde"), "project")
        if errors:
            raise SimapError(
                f"the project.qde simap built does not validate against Project.xsd: {errors[0]}",
                hint="this is a bug in simap; please report it with the project",
                details=errors,
            )
    write_zip(target, qde, files)
    return stats
