"""QDPX / QDE in: a project from NVivo, ATLAS.ti, MAXQDA, QualCoder, f4 or simap -> ventures, codes,
evidence and memos.

* **Ventures.** Each ``<Case>`` becomes a venture and its sources become the venture's text fields
  (named by the variable ``simap field``, else by the source name); a source in no case is a
  venture of its own (field ``text``). The id is the variable ``simap id``, else the slug of the
  name. Case and source variables named ``country``, ``sector`` and ``year`` fill those columns;
  the others go to the venture's metadata.
* **Texts.** ``<TextSource>`` (inline or ``internal://`` file), the text representation of a
  ``<PDFSource>`` and the transcripts of audio and video sources. Texts are kept with LF line ends
  and without BOM; positions are converted from the file's convention, detected once per file
  (:mod:`simap.interop.positions`). Files outside the archive (``relative://``, ``absolute://``)
  are never read.
* **Codes.** The ``<CodeBook>`` is merged into the project's working codebook (``codebook=`` or the
  one the project already has); unknown codes are appended, which makes a new codebook version,
  and it becomes the working codebook. A fresh project takes the file's codebook as it is.
* **Codings.** Every ``<Coding>`` becomes an accepted code by its ``User`` (``creatingUser`` of the
  coding, else of the selection, else the project's creator); the selection becomes evidence with
  exact character offsets. Codes on a whole source, on a case and on pictures, PDF regions or
  media become accepted codes without evidence. The users simap writes for machine coders come
  back as machine suggestions with their scores, and simap's rejection notes as rejections.
* **Memos.** Notes referenced from a coding, a selection (also through a ``<Link>``, NVivo's way)
  or written into a selection's ``<Description>`` (ATLAS.ti's way) become the memo of each code
  applied there; memos on uncoded selections and on sources go to the venture's metadata
  (``memos``); notes on codes and on the project are kept in the import's event.

Deviations from the standard are worked around with a warning naming the file and element;
``strict=True`` refuses the file instead. The whole file is read and checked before anything is
written, so a broken archive changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pandas as pd

from simap.batches import DOCUMENT_COLUMNS, VENTURE_COLUMNS, IngestBatch
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, NotFound
from simap.ingest.mapping import slugify
from simap.interop.common import NS_PROJECT, Findings, norm_guid, schema_errors, split_tag, tag
from simap.interop.positions import (
    Convention,
    Detection,
    Selection,
    SourceText,
    decode_text,
    detect,
    to_index,
)
from simap.interop.qdc import build_codebook, check_namespace, parse_codes
from simap.interop.qdpx import FIELD_VARIABLE, JSON_MARK, MACHINE_USER
from simap.interop.safety import SafeArchive, ZipLimits, parse_xml

SOURCE_KINDS = ("TextSource", "PDFSource", "PictureSource", "AudioSource", "VideoSource")
SELECTION_KINDS = (
    "PlainTextSelection",
    "PDFSelection",
    "PictureSelection",
    "AudioSelection",
    "VideoSelection",
    "TranscriptSelection",
)
_EVIDENCE = re.compile(
    r"^\[simap\] (?:evidence (?P<rank>\d+)|(?P<whole>whole text))(?:; score (?P<score>[-+0-9.eE]+))?$"
)
_REJECTED = re.compile(r"^\[simap\] rejected code=(?P<guid>[^;]+)(?P<nomemo>; memo=none)?$")
YEAR_MIN, YEAR_MAX = 1800, 2100


@dataclass
class RefiImportReport:
    """What ``simap import FILE.qdpx`` read and stored."""

    path: str
    xml_name: str
    origin: str
    convention: str
    codes: int = 0  # <Code> elements in the file
    sources: int = 0  # source elements of every kind
    text_sources: int = 0  # of those, with a text simap could read
    selections: int = 0  # selection elements of every kind
    codings: int = 0
    coders: list[str] = field(default_factory=list)
    notes: int = 0
    codebook: str = ""
    new_codes: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    segments: int = 0
    warnings: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


# -- reading the container --------------------------------------------------------------------
class _Container:
    """The project XML and a way to read the files it references, from a .qdpx or a bare .qde."""

    def __init__(self, path: Path, findings: Findings, limits: ZipLimits | None) -> None:
        self.path = path
        self.findings = findings
        self.archive: SafeArchive | None = None
        if path.suffix.lower() == ".qde":
            self.xml_name = path.name
            self.xml = path.read_bytes()
            return
        self.archive = SafeArchive(path, limits)
        qdes = [n for n in self.archive.names() if n.lower().endswith(".qde")]
        if not qdes:
            raise InvalidInput(
                "the archive holds no .qde project file.",
                source=str(path),
                hint="a .qdpx must contain project.qde; re-export the project from its tool",
            )
        exact = [n for n in qdes if n == "project.qde"]
        self.xml_name = exact[0] if exact else sorted(qdes, key=lambda n: (n.count("/"), n))[0]
        if not exact:
            findings.warn(
                None, f"the project XML is named {self.xml_name!r}, not 'project.qde' (read anyway)"
            )
        if len(qdes) > 1:
            findings.warn(None, f"the archive holds {len(qdes)} .qde files; read {self.xml_name!r}")
        self.xml = self.archive.read(self.xml_name)

    def read_internal(self, ref: str, el: Element) -> bytes | None:
        """The bytes of ``internal://NAME`` (or a bare name), or None with a warning."""
        if ref.startswith(("relative://", "absolute://", "file://")):
            self.findings.lose(
                f"{_describe(el)}: external file {ref!r} is not read (only files inside the archive)"
            )
            return None
        name = ref[len("internal://") :] if ref.startswith("internal://") else ref
        if not ref.startswith("internal://"):
            self.findings.warn(el, f"path {ref!r} has no 'internal://' prefix; looked for it in sources/")
        name = name.lstrip("/")
        if self.archive is not None:
            for candidate in (f"sources/{name}", name):
                found = self.archive.find(candidate)
                if found is not None:
                    if not found.startswith("sources/") and found.lower().startswith("sources/"):
                        self.findings.warn(
                            el, f"the sources folder is named {found.split('/')[0]!r}, not 'sources'"
                        )
                    return self.archive.read(found)
            self.findings.warn(el, f"file {ref!r} is missing from the archive; its text is not imported")
            return None
        base = self.path.parent
        for file in (base / "sources" / name, base / "Sources" / name, base / name):
            if file.is_file() and file.resolve().is_relative_to(base.resolve()):
                return file.read_bytes()
        self.findings.warn(
            el, f"file {ref!r} is not next to {self.path.name} (nor in sources/); its text is not imported"
        )
        return None

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def _describe(el: Element) -> str:
    from simap.interop.common import describe

    return describe(el)


# -- the parsed project -----------------------------------------------------------------------
@dataclass
class _Sel:
    guid: str
    doc: str | None  # key of the text it points into (None: not a text selection)
    start: int | None
    end: int | None
    name: str | None
    description: str | None
    codings: list[tuple[str, str | None, Element]]  # (code guid, user guid, element)
    notes: list[str]
    user: str | None
    element: Element
    quote: str | None = None  # the text of a PDF region, else the selection's name


@dataclass
class _Source:
    guid: str
    name: str
    kind: str
    docs: list[tuple[str, str, SourceText]]  # (doc key, field suffix, text)
    selections: list[_Sel]
    whole_codings: list[tuple[str, str | None, Element]]
    notes: list[str]
    variables: dict[str, Any]
    user: str | None


def _guid(el: Element, attr: str, findings: Findings) -> str | None:
    value = el.get(attr)
    if value is None:
        return None
    return norm_guid(value, el, findings)


class _Reader:
    def __init__(self, container: _Container, findings: Findings) -> None:
        self.c = container
        self.f = findings
        self.ns = NS_PROJECT
        self.docs: dict[str, SourceText] = {}

    def t(self, name: str) -> str:
        return tag(self.ns, name)

    def children(self, el: Element | None, name: str) -> list[Element]:
        return [] if el is None else el.findall(self.t(name))

    def text_of(self, el: Element, owner: Element) -> SourceText | None:
        """The plain text of a TextSourceType element (inline or by path)."""
        inline = el.find(self.t("PlainTextContent"))
        path = el.get("plainTextPath")
        if inline is not None and path:
            self.f.warn(
                el, "has both PlainTextContent and plainTextPath (the schema says one); read the inline text"
            )
        if inline is not None:
            return decode_text((inline.text or "").encode("utf-8"))
        if path:
            data = self.c.read_internal(path, el)
            return None if data is None else decode_text(data)
        if el.get("richTextPath"):
            self.f.lose(
                f"{_describe(owner)}: only a rich-text (DOCX) file, no plain text; its text is not imported"
            )
        return None

    def codings(self, el: Element) -> list[tuple[str, str | None, Element]]:
        out = []
        for coding in self.children(el, "Coding"):
            ref = coding.find(self.t("CodeRef"))
            if ref is None or not ref.get("targetGUID"):
                self.f.warn(coding, "has no CodeRef; ignored")
                continue
            out.append(
                (norm_guid(ref.get("targetGUID"), ref, self.f), _guid(coding, "creatingUser", self.f), coding)
            )
        return out

    def noterefs(self, el: Element) -> list[str]:
        return [
            norm_guid(r.get("targetGUID"), r, self.f)
            for r in self.children(el, "NoteRef")
            if r.get("targetGUID")
        ]

    def variables(self, el: Element, defs: dict[str, tuple[str, str, bool]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for vv in self.children(el, "VariableValue"):
            ref = vv.find(self.t("VariableRef"))
            if ref is None or not ref.get("targetGUID"):
                self.f.warn(vv, "has no VariableRef; ignored")
                continue
            guid = norm_guid(ref.get("targetGUID"), ref, self.f)
            if guid not in defs:
                self.f.warn(vv, f"refers to variable {guid}, which is not declared; ignored")
                continue
            name, _kind, is_json = defs[guid]
            value_el = next((c for c in vv if split_tag(c.tag)[1] != "VariableRef"), None)
            if value_el is None or value_el.text is None:
                continue
            out[name] = _typed(split_tag(value_el.tag)[1], value_el.text, is_json, vv, self.f)
        return out

    def _selection(self, sel: Element, **position: Any) -> _Sel:
        return _Sel(
            guid=norm_guid(sel.get("guid"), sel, self.f),
            name=sel.get("name"),
            description=sel.findtext(self.t("Description")),
            codings=self.codings(sel),
            notes=self.noterefs(sel),
            user=_guid(sel, "creatingUser", self.f),
            element=sel,
            **position,
        )

    def text_selection(self, sel: Element, doc: str | None) -> _Sel:
        start = _int(sel.get("startPosition"), sel, "startPosition", self.f)
        end = _int(sel.get("endPosition"), sel, "endPosition", self.f)
        return self._selection(sel, doc=doc, start=start, end=end)

    def other_selection(self, sel: Element) -> _Sel:
        rep = sel.find(self.t("Representation"))
        quote = rep.findtext(self.t("PlainTextContent")) if rep is not None else None
        return self._selection(
            sel, quote=(quote or sel.get("name") or "").strip() or None, doc=None, start=None, end=None
        )

    def source(self, el: Element, defs: dict[str, tuple[str, str, bool]]) -> _Source:
        kind = split_tag(el.tag)[1]
        guid = norm_guid(el.get("guid"), el, self.f)
        name = el.get("name") or ""
        if not name:
            self.f.warn(el, "has no name; named after its guid")
            name = guid
        src = _Source(
            guid=guid,
            name=name,
            kind=kind,
            docs=[],
            selections=[],
            whole_codings=self.codings(el),
            notes=self.noterefs(el),
            variables=self.variables(el, defs),
            user=_guid(el, "creatingUser", self.f),
        )

        def add_text(text_el: Element, suffix: str) -> str | None:
            text = self.text_of(text_el, el)
            if text is None:
                return None
            key = f"{guid}/{len(src.docs)}"
            src.docs.append((key, suffix, text))
            self.docs[key] = text
            return key

        if kind == "TextSource":
            key = add_text(el, "")
            for sel in self.children(el, "PlainTextSelection"):
                src.selections.append(self.text_selection(sel, key))
        elif kind == "PDFSource":
            rep = el.find(self.t("Representation"))
            key = add_text(rep, "") if rep is not None else None
            if rep is not None:
                for sel in self.children(rep, "PlainTextSelection"):
                    src.selections.append(self.text_selection(sel, key))
                src.whole_codings += self.codings(rep)
            elif not len(self.children(el, "PDFSelection")):
                self.f.lose(f"{_describe(el)}: a PDF without a text representation; no text imported")
            for sel in self.children(el, "PDFSelection"):
                src.selections.append(self.other_selection(sel))
        elif kind in ("AudioSource", "VideoSource"):
            for n, tr in enumerate(self.children(el, "Transcript"), start=1):
                key = add_text(
                    tr, f"transcript {n}" if len(self.children(el, "Transcript")) > 1 else "transcript"
                )
                points = {
                    norm_guid(sp.get("guid"), sp, self.f): _int(sp.get("position"), sp, "position", self.f)
                    for sp in self.children(tr, "SyncPoint")
                }
                for sel in self.children(tr, "TranscriptSelection"):
                    s = self.other_selection(sel)
                    a = (
                        points.get(norm_guid(sel.get("fromSyncPoint"), sel, self.f))
                        if sel.get("fromSyncPoint")
                        else None
                    )
                    b = (
                        points.get(norm_guid(sel.get("toSyncPoint"), sel, self.f))
                        if sel.get("toSyncPoint")
                        else None
                    )
                    if key is not None and a is not None and b is not None:
                        s.doc, s.start, s.end = key, a, b
                    src.selections.append(s)
            for sel in self.children(el, "AudioSelection") + self.children(el, "VideoSelection"):
                src.selections.append(self.other_selection(sel))
            if not src.docs:
                self.f.lose(f"{_describe(el)}: media without a transcript; no text imported")
        else:  # PictureSource
            desc = el.find(self.t("TextDescription"))
            if desc is not None:
                key = add_text(desc, "description")
                for sel in self.children(desc, "PlainTextSelection"):
                    src.selections.append(self.text_selection(sel, key))
            for sel in self.children(el, "PictureSelection"):
                src.selections.append(self.other_selection(sel))
            if not src.docs:
                self.f.lose(f"{_describe(el)}: a picture; only its codes are imported")
        return src


def _int(value: str | None, el: Element, attr: str, findings: Findings) -> int | None:
    if value is None:
        findings.warn(el, f"has no {attr}")
        return None
    try:
        return int(value.strip())
    except ValueError:
        findings.warn(el, f"{attr}={value!r} is not an integer")
        return None


def _typed(kind: str, text: str, is_json: bool, el: Element, findings: Findings) -> Any:
    raw = text.strip()
    try:
        if kind == "BooleanValue":
            return raw.lower() in ("true", "1")
        if kind == "IntegerValue":
            return int(raw)
        if kind == "FloatValue":
            return float(raw)
        if is_json:
            return json.loads(text)
    except ValueError:
        findings.warn(el, f"value {text!r} is not a valid {kind}; kept as text")
        return text
    return text


# -- the import -------------------------------------------------------------------------------
def _variable_defs(reader: _Reader, root: Element) -> dict[str, tuple[str, str, bool]]:
    defs = {}
    for v in reader.children(root.find(reader.t("Variables")), "Variable"):
        guid = norm_guid(v.get("guid"), v, reader.f)
        defs[guid] = (
            v.get("name") or guid,
            v.get("typeOfVariable") or "Text",
            (v.findtext(reader.t("Description")) or "").strip() == JSON_MARK,
        )
    return defs


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _venture_fields(variables: dict[str, Any], findings: Findings, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": {}}
    for name, value in variables.items():
        low = name.strip().lower()
        if name == FIELD_VARIABLE:
            continue
        if name == "simap id":
            out["id"] = str(value)
        elif low in ("country", "sector") and isinstance(value, str):
            out[low] = value
        elif low == "year" and isinstance(value, int | str) and str(value).strip().isdigit():
            year = int(str(value).strip())
            if YEAR_MIN <= year <= YEAR_MAX:
                out["year"] = year
            else:
                out["metadata"][name] = value
        else:
            out["metadata"][name.removeprefix("metadata.")] = value
    return out


def import_refi(
    store: Any,
    path: str | Path,
    *,
    strict: bool = False,
    codebook: Codebook | None = None,
    actor: str = "simap",
    limits: ZipLimits | None = None,
) -> RefiImportReport:
    """Import a ``.qdpx`` (or a bare ``.qde``) into ``store``; see the module docs."""
    from simap.store import repo

    p = Path(path)
    if not p.exists():
        raise NotFound(f"file {str(p)!r} does not exist.", hint="check the path")
    findings = Findings(str(p), strict=strict)
    container = _Container(p, findings, limits)
    try:
        plan = _read(container, findings, store, codebook)
    finally:
        container.close()
    findings.check_strict()
    report = plan["report"]
    # -- write: the file was read completely and checked; now store it --------------------------
    batch: IngestBatch = plan["batch"]
    from simap.ingest.segment import segment_documents

    stats = repo.upsert_ventures(store, batch, segment_documents(batch.documents), actor=actor, source=str(p))
    report.created, report.updated, report.unchanged, report.segments = (
        stats.created,
        stats.updated,
        stats.unchanged,
        stats.segments,
    )
    book: Codebook | None = plan["codebook"]
    if book is not None:
        from simap.review.codebook_edit import SETTING
        from simap.store import browse

        version = repo.save_codebook(store, book, actor=actor)
        browse.put_setting(store, SETTING, {"version": version})
        for coder, rows in plan["human"]:
            repo.save_human_codes(store, rows, coder=coder, codebook_version=version, source=str(p))
        for coder, rows in plan["machine"]:
            run = repo.start_run(
                store, kind="import", codebook_version=version, model=coder, params={"imported_from": str(p)}
            )
            frame = pd.DataFrame(
                rows, columns=["venture_id", "code_id", "score", "raw", "evidence", "created_at"]
            )
            repo.save_machine_suggestions(store, frame, coder=coder, codebook_version=version, run_id=run)
            repo.finish_run(store, run, stats={"suggestions": len(rows)})
    repo.log_event_now(
        store,
        actor=actor,
        action="refi_imported",
        entity="project",
        entity_id=str(p),
        after={
            "origin": report.origin,
            "convention": report.convention,
            "codes": report.codes,
            "sources": report.sources,
            "selections": report.selections,
            "codings": report.codings,
            "warnings": findings.warnings[:200],
            "notes": plan["project_notes"],
        },
    )
    report.warnings, report.losses = findings.warnings, findings.losses
    report.codebook = f"{book.name}@{book.version}" if book is not None else "(none)"
    return report


def _read(container: _Container, findings: Findings, store: Any, codebook: Codebook | None) -> dict[str, Any]:
    root = parse_xml(container.xml, source=f"{container.path}:{container.xml_name}")
    reader = _Reader(container, findings)
    if split_tag(root.tag)[1] != "Project":
        raise InvalidInput(
            f"the root element is <{split_tag(root.tag)[1]}>, expected <Project>.",
            source=str(container.path),
            hint="pass a REFI-QDA project (.qdpx or .qde); a codebook (.qdc) goes to `simap import-codebook`",
        )
    reader.ns = check_namespace(root, (NS_PROJECT,), findings)
    if findings.strict and reader.ns == NS_PROJECT:
        for err in schema_errors(root, "project"):
            findings.warn(None, f"does not validate against Project.xsd: {err}")
    sets_el = root.find(reader.t("Sets"))
    if sets_el is not None:
        if not len(reader.children(sets_el, "Set")):
            findings.warn(sets_el, "is empty (the schema needs at least one <Set>); ignored")
        else:
            findings.lose(f"{len(reader.children(sets_el, 'Set'))} set(s) are not kept: simap has no sets")
    if root.find(reader.t("Graphs")) is not None:
        findings.lose("graphs (network views) are not kept")
    origin = root.get("origin") or ""
    report = RefiImportReport(
        path=str(container.path), xml_name=container.xml_name, origin=origin, convention=""
    )

    users = {}
    for u in reader.children(root.find(reader.t("Users")), "User"):
        users[norm_guid(u.get("guid"), u, findings)] = (
            u.get("name") or u.get("id") or u.get("guid") or "unknown"
        )
    creator = _guid(root, "creatingUserGUID", findings)
    default_coder = users.get(creator or "", "") or f"{origin or container.path.stem} import"

    # codes
    raw = []
    cb_el = root.find(reader.t("CodeBook"))
    if cb_el is not None:
        codes_el = cb_el.find(reader.t("Codes"))
        if codes_el is not None:
            raw = parse_codes(codes_el, reader.ns, findings)
    report.codes = len(raw)
    base = codebook
    if base is None:
        base = _project_codebook(store)
    origin_book = re.search(r"\(codebook ([^)]+)\)$", origin)
    name = origin_book.group(1) if origin_book else (slugify(root.get("name") or "") or "refi-import")
    mapping = build_codebook(raw, name=name, base=base, source=str(container.path)) if raw else None
    book = mapping.codebook if mapping else base
    by_guid = mapping.by_guid if mapping else {}
    report.new_codes = mapping.new_codes if (mapping and base is not None) else []
    code_notes = {}
    if cb_el is not None:
        for code_el in cb_el.iter(reader.t("Code")):
            for ref in reader.noterefs(code_el):
                code_notes[ref] = code_el.get("name")

    defs = _variable_defs(reader, root)
    sources: list[_Source] = []
    for el in list(root.find(reader.t("Sources")) or []):
        kind = split_tag(el.tag)[1]
        if kind not in SOURCE_KINDS:
            findings.warn(el, "is not a known source element; ignored")
            continue
        sources.append(reader.source(el, defs))
    report.sources = len(sources)
    report.text_sources = sum(1 for s in sources if s.docs)
    report.selections = sum(len(s.selections) for s in sources)

    # positions: one convention per file, from all text selections
    det_sel = [
        Selection(s.doc, s.start, s.end, s.name)
        for src in sources
        for s in src.selections
        if s.doc is not None
        and s.start is not None
        and s.end is not None
        and split_tag(s.element.tag)[1] == "PlainTextSelection"
    ]
    detection: Detection = detect(reader.docs, det_sel)
    report.convention = detection.summary
    conv: Convention = detection.convention
    units = {key: text.offsets(conv) for key, text in reader.docs.items()}

    # notes
    notes: dict[str, dict[str, Any]] = {}
    for n in reader.children(root.find(reader.t("Notes")), "Note"):
        guid = norm_guid(n.get("guid"), n, findings)
        text = reader.text_of(n, n)
        notes[guid] = {
            "name": n.get("name") or "",
            "text": (text.text if text else "").strip(),
            "user": _guid(n, "creatingUser", findings),
            "description": (n.findtext(reader.t("Description")) or "").strip(),
            "when": _when(n.get("creationDateTime")),
        }
    report.notes = len(notes)
    link_notes: dict[str, list[str]] = {}
    for link in reader.children(root.find(reader.t("Links")), "Link"):
        a, b = link.get("originGUID"), link.get("targetGUID")
        if not a or not b:
            continue
        a, b = norm_guid(a, link, findings), norm_guid(b, link, findings)
        if a in notes:
            link_notes.setdefault(b, []).append(a)
        elif b in notes:
            link_notes.setdefault(a, []).append(b)
    used_notes: set[str] = set()

    def memo_of(refs: Iterable[str]) -> list[str]:
        out = []
        for ref in refs:
            if ref in notes and notes[ref]["text"]:
                out.append(notes[ref]["text"])
                used_notes.add(ref)
            elif ref not in notes:
                findings.warn(None, f"a NoteRef points at note {ref}, which is not in <Notes>")
        return out

    # ventures from cases, then the sources no case holds
    case_of: dict[str, str] = {}
    ventures: list[dict[str, Any]] = []
    taken_ids: set[str] = set()
    source_by_guid = {s.guid: s for s in sources}
    venture_of_source: dict[str, dict[str, Any]] = {}
    case_codes: list[tuple[dict[str, Any], str]] = []
    for case in reader.children(root.find(reader.t("Cases")), "Case"):
        cguid = norm_guid(case.get("guid"), case, findings)
        cname = case.get("name") or cguid
        fields = _venture_fields(reader.variables(case, defs), findings, cname)
        vid = _unique(fields.get("id") or slugify(cname) or f"case-{cguid[:8].lower()}", taken_ids)
        venture: dict[str, Any] = {"id": vid, "name": cname, "fields": fields, "sources": [], "memos": []}
        for sref in reader.children(case, "SourceRef"):
            sguid = norm_guid(sref.get("targetGUID"), sref, findings)
            if sguid not in source_by_guid:
                findings.warn(sref, f"refers to source {sguid}, which is not in <Sources>; ignored")
                continue
            if sguid in case_of:
                findings.lose(
                    f"source {sguid} belongs to several cases; kept with the first, {case_of[sguid]!r}"
                )
                continue
            case_of[sguid] = vid
            venture["sources"].append(source_by_guid[sguid])
            venture_of_source[sguid] = venture
        for cref in reader.children(case, "CodeRef"):
            case_codes.append((venture, norm_guid(cref.get("targetGUID"), cref, findings)))
        ventures.append(venture)
    for src in sources:
        if src.guid in venture_of_source:
            continue
        fields = _venture_fields(src.variables, findings, src.name)
        stem = re.sub(r"\.(txt|docx?|pdf|rtf|odt|mp3|m4a|wav|mp4|mov|jpe?g|png)$", "", src.name, flags=re.I)
        vid = _unique(fields.get("id") or slugify(stem) or f"source-{src.guid[:8].lower()}", taken_ids)
        venture = {
            "id": vid,
            "name": stem or src.name,
            "fields": fields,
            "sources": [src],
            "memos": [],
            "solo": True,
        }
        venture_of_source[src.guid] = venture
        ventures.append(venture)

    # documents: one per text of each source
    vrows, drows = [], []
    doc_field: dict[str, tuple[str, str]] = {}  # doc key -> (venture id, field)
    for v in ventures:
        used_fields: set[str] = set()
        fields = v["fields"]
        for src in v["sources"]:
            if not v.get("solo"):
                fields["metadata"].update(
                    {
                        k: val
                        for k, val in _venture_fields(src.variables, findings, src.name)["metadata"].items()
                    }
                )
            for key, suffix, text in src.docs:
                if v.get("solo"):
                    base_field = suffix or "text"
                else:
                    base_field = src.variables.get(FIELD_VARIABLE) or src.name
                    if suffix:
                        base_field = f"{base_field} ({suffix})"
                fld = _unique(str(base_field)[:200], used_fields)
                doc_field[key] = (v["id"], fld)
                drows.append({"venture_id": v["id"], "field": fld, "text": text.text})
        vrows.append(v)

    # codings
    human: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    machine: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    rejected: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    coders: list[str] = []

    def coder_of(user: str | None, fallback: str | None) -> tuple[str, bool]:
        name = users.get(user or "") or users.get(fallback or "") or default_coder
        if (user or fallback) and (user or fallback) not in users:
            findings.warn(
                None, f"a coding names user {user or fallback}, who is not in <Users>; taken as {name!r}"
            )
        m = MACHINE_USER.match(name)
        return (m.group("key"), True) if m else (name, False)

    def add(
        vid: str,
        code_guid_: str,
        user: str | None,
        fallback: str | None,
        el: Element,
        span: dict[str, Any] | None,
        rank: int | None,
        score: float | None,
        memos: list[str],
    ) -> None:
        code_id = by_guid.get(code_guid_)
        if code_id is None:
            findings.warn(el, f"codes with {code_guid_}, which is not a code of the <CodeBook>; ignored")
            return
        coder, is_machine = coder_of(user, fallback)
        if coder not in coders:
            coders.append(coder)
        target = machine if is_machine else human
        entry = target.setdefault(coder, {}).setdefault(
            (vid, code_id),
            {"evidence": [], "memos": [], "score": None, "when": None, "order": report.codings},
        )
        when = _when(el.get("creationDateTime"))
        if when is not None and (entry["when"] is None or when < entry["when"]):
            entry["when"] = when
        if span is not None:
            entry["evidence"].append((rank if rank is not None else 10**9, len(entry["evidence"]), span))
        if score is not None:
            entry["score"] = score
        for memo in memos:
            if memo not in entry["memos"]:
                entry["memos"].append(memo)
        report.codings += 1

    for src in sources:
        v = venture_of_source[src.guid]
        vid = v["id"]
        for code_guid_, user, el in src.whole_codings:
            add(vid, code_guid_, user, src.user, el, None, None, None, memo_of(reader.noterefs(el)))
        for ref in src.notes + link_notes.get(src.guid, []):
            note = notes.get(ref)
            if note is None:
                findings.warn(None, f"source {src.name!r} refers to note {ref}, which is not in <Notes>")
                continue
            m = _REJECTED.match(note["description"])
            if m and m.group("guid").upper() in by_guid:
                coder, _ = coder_of(note["user"], None)
                key = (vid, by_guid[m.group("guid").upper()])
                rejected.setdefault(coder, {})[key] = {
                    "memo": None if m.group("nomemo") else note["text"],
                    "when": note["when"],
                    "order": 10**6 + len(rejected.get(coder, {})),
                }
                if coder not in coders:
                    coders.append(coder)
                used_notes.add(ref)
            elif note["text"]:
                v["memos"].append({"text": note["text"], "by": users.get(note["user"] or ""), "on": src.name})
                used_notes.add(ref)
        for sel in src.selections:
            span = None
            if sel.doc is not None and sel.start is not None and sel.end is not None and sel.doc in doc_field:
                doc_text = reader.docs[sel.doc].text
                i, j = to_index(units[sel.doc], sel.start), to_index(units[sel.doc], sel.end)
                if not 0 <= i <= j <= len(doc_text):
                    findings.warn(
                        sel.element,
                        f"positions {sel.start}-{sel.end} fall outside the text; no evidence kept",
                    )
                else:
                    if i == j:
                        findings.warn(sel.element, "is empty (start == end); kept as a code without a quote")
                    fld = doc_field[sel.doc][1]
                    span = {"field": fld, "start": i, "end": j, "text": doc_text[i:j]}
            desc = (sel.description or "").strip()
            ev = _EVIDENCE.match(desc)
            rank = int(ev.group("rank")) if ev and ev.group("rank") else None
            if ev and ev.group("whole"):
                span = None  # simap's mark for a machine code on the whole text
            score = float(ev.group("score")) if ev and ev.group("score") else None
            sel_memos = memo_of(sel.notes + link_notes.get(sel.guid, []))
            if desc and not ev:
                sel_memos.append(desc)  # ATLAS.ti 26 and MAXQDA write memos and comments here
            if span is None and (sel.quote or sel.name) and not (ev and ev.group("whole")):
                span = {"text": (sel.quote or sel.name or "").strip()}  # a quote without a position
            if not sel.codings:
                for memo in sel_memos:
                    v["memos"].append({"text": memo, "on": span["text"] if span else None})
                continue
            for code_guid_, user, el in sel.codings:
                add(
                    vid,
                    code_guid_,
                    user,
                    sel.user or src.user,
                    el,
                    span,
                    rank,
                    score,
                    sel_memos + memo_of(reader.noterefs(el)),
                )
    for v, code_guid_ in case_codes:
        if v["sources"]:
            add(v["id"], code_guid_, None, None, root, None, None, None, [])
        else:
            findings.lose(f"case {v['name']!r} has codes but no sources; its codes are not kept")
    leftover = [n for g, n in notes.items() if g not in used_notes and n["text"]]
    project_notes = [
        {"name": n["name"], "text": n["text"], "by": users.get(n["user"] or "")} for n in leftover
    ]
    if project_notes:
        findings.lose(
            f"{len(project_notes)} note(s) on the project or on codes are kept in the import's event only"
        )
    report.coders = coders

    # ventures frame
    batch_v = []
    for v in vrows:
        f = v["fields"]
        meta = dict(f["metadata"])
        if v["memos"]:
            meta["memos"] = (
                meta.get("memos", []) + v["memos"] if isinstance(meta.get("memos"), list) else v["memos"]
            )
        batch_v.append(
            {
                "id": v["id"],
                "name": v["name"],
                "country": f.get("country"),
                "sector": f.get("sector"),
                "year": f.get("year"),
                "metadata": meta,
                "source": f"{container.path.name}:{v['name']}",
            }
        )
    ventures_df = pd.DataFrame(
        {c: pd.Series([r[c] for r in batch_v], dtype="object") for c in VENTURE_COLUMNS}
    )
    docs_df = pd.DataFrame({c: pd.Series([r[c] for r in drows], dtype="object") for c in DOCUMENT_COLUMNS})
    batch = IngestBatch(ventures_df, docs_df)

    def evidence(entry: dict[str, Any]) -> list[dict[str, Any]]:
        return [span for _, _, span in sorted(entry["evidence"], key=lambda t: (t[0], t[1]))]

    # decisions are stored in the order they were made (creationDateTime, else file order): among
    # coders who disagree, the later decision is the one that counts (simap.maps.select)
    human_all: list[tuple[Any, int, str, dict[str, Any]]] = []
    for coder, items in human.items():
        for (vid, code_id), entry in items.items():
            row = {
                "venture_id": vid,
                "code_id": code_id,
                "status": "accepted",
                "evidence": evidence(entry),
                "memo": "\n\n".join(entry["memos"]) or None,
                "created_at": entry["when"],
            }
            human_all.append((entry["when"], entry["order"], coder, row))
    for coder, items in rejected.items():
        for (vid, code_id), entry in items.items():
            if (vid, code_id) in human.get(coder, {}):
                findings.warn(
                    None, f"{coder} both applied and rejected code {code_id} on {vid}; kept the coding"
                )
                continue
            row = {
                "venture_id": vid,
                "code_id": code_id,
                "status": "rejected",
                "evidence": [],
                "memo": entry["memo"],
                "created_at": entry["when"],
            }
            human_all.append((entry["when"], entry["order"], coder, row))
    human_runs = _runs(human_all)
    machine_all: list[tuple[Any, int, str, dict[str, Any]]] = []
    for coder, items in machine.items():
        for (vid, code_id), entry in items.items():
            score = entry["score"] if entry["score"] is not None else 1.0
            row = {
                "venture_id": vid,
                "code_id": code_id,
                "score": score,
                "raw": float("nan"),
                "evidence": evidence(entry),
                "created_at": entry["when"],
            }
            machine_all.append((entry["when"], entry["order"], coder, row))
    machine_runs = _runs(machine_all)
    human_rows = [c for c, _ in human_runs]
    machine_rows = [c for c, _ in machine_runs]
    if (human_rows or machine_rows) and book is None:
        raise InvalidInput("the file codes text but has no <CodeBook>.", source=str(container.path))
    return {
        "report": report,
        "batch": batch,
        "codebook": book if mapping is not None or human_rows or machine_rows else None,
        "human": human_runs,
        "machine": machine_runs,
        "project_notes": project_notes,
    }


def _when(value: str | None) -> datetime | None:
    """An xsd:dateTime as an aware datetime (UTC when it has no zone); None if absent or invalid."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _runs(items: list[tuple[Any, int, str, dict[str, Any]]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Rows in time order (undated ones after, in file order), cut into runs of one coder each."""
    far = datetime.max.replace(tzinfo=UTC)
    items = sorted(items, key=lambda t: (t[0] or far, t[1]))
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for _, _, coder, row in items:
        if runs and runs[-1][0] == coder:
            runs[-1][1].append(row)
        else:
            runs.append((coder, [row]))
    return runs


def _project_codebook(store: Any) -> Codebook | None:
    """The working codebook of a project that has one (set, or coded), else None (a fresh project)."""
    from simap.review.codebook_edit import SETTING
    from simap.store import browse, repo

    setting = browse.get_setting(store, SETTING)
    if setting and setting.get("version"):
        return repo.load_codebook_version(store, str(setting["version"]))
    return repo.latest_coded_codebook(store)
