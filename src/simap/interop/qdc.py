"""Codebooks as REFI-QDA QDC (``Codebook.xsd`` 1.0) and as the ``<CodeBook>`` of a project.

Writing (:func:`qdc_bytes`, :func:`write_qdc`): one ``<Code>`` per code, nested under its
``parent``; ``guid`` = ``uuid5(simap namespace, "code:<codebook name>:<code id>")`` so every export
of a codebook gives its codes the same GUIDs; ``isCodable`` from ``codable``; ``color`` when set.
simap's richer code fields are folded into the one ``<Description>`` REFI-QDA has, as plain text
that other tools show as the code's description (:func:`fold_description`)::

    <definition>

    Include:
    - <rule>

    Exclude:
    - <rule>

    Examples:
    - <sentence>

    Counter-examples:
    - <sentence>

    Cues: <cue>; <cue>

    [simap] id=DP1; kind=design_principle; related=B3,DP2

Sections without items are left out; the last line carries what simap needs to read the code back
exactly (id, kind, related codes, ``retired=true``). Solutions, the codebook's title,
description, kinds and label mode have no place in REFI-QDA and are not written.

Reading (:func:`read_qdc`) accepts what tools write: nested codes, ATLAS.ti ``a::b`` and Taguette
``a\\b`` names (both become a hierarchy; a missing parent becomes a non-codable category), GUIDs
in braces or any case, the pre-1.0 namespace ``urn:QDA-XML:codebook:0:4``, an empty ``<Sets/>``,
invalid colours and GUIDs that are not UUIDs, each with a warning naming the file and element;
``strict=True`` refuses such a file instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.etree.ElementTree import Element

from simap.codebook.schema import COLOR, Code, Codebook
from simap.errors import InvalidCodebook, InvalidInput, NotFound
from simap.interop.common import (
    NS_CODEBOOK,
    NS_CODEBOOK_OLD,
    ORIGIN,
    SCHEMA_LOCATION,
    XSI,
    Findings,
    code_id_for,
    make_guid,
    norm_guid,
    schema_errors,
    split_tag,
    tag,
)
from simap.interop.safety import parse_xml

SECTIONS = (
    ("include", "Include:"),
    ("exclude", "Exclude:"),
    ("examples", "Examples:"),
    ("counter_examples", "Counter-examples:"),
)
TRAILER = "[simap] "
_HIER_SEP = re.compile(r"::|\\")


def code_guid(codebook: Codebook | str, code_id: str) -> str:
    name = codebook if isinstance(codebook, str) else codebook.name
    return make_guid("code", name, code_id)


# -- description folding ----------------------------------------------------------------------
def fold_description(code: Code) -> str:
    """One plain-text description holding definition, rules, examples, cues and simap's keys."""
    parts = [code.definition.strip()]
    for key, heading in SECTIONS:
        items = getattr(code, key)
        if items:
            parts.append(heading + "\n" + "\n".join(f"- {item}" for item in items))
    if code.cues:
        parts.append("Cues: " + "; ".join(code.cues))
    keys = [f"id={code.id}", f"kind={code.kind}"]
    if code.related:
        keys.append("related=" + ",".join(code.related))
    if code.retired:
        keys.append("retired=true")
    parts.append(TRAILER + "; ".join(keys))
    return "\n\n".join(parts)


def unfold_description(text: str | None) -> dict[str, object]:
    """The fields :func:`fold_description` folded (a foreign description is all definition)."""
    out: dict[str, object] = {}
    if not text:
        return out
    lines = text.replace("\r\n", "\n").strip().split("\n")
    definition: list[str] = []
    current: str | None = None
    headings = {h: k for k, h in SECTIONS}
    lists: dict[str, list[str]] = {}
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(TRAILER):
            for pair in stripped[len(TRAILER) :].split(";"):
                key, _, value = pair.strip().partition("=")
                if key in ("id", "kind") and value:
                    out[key] = value
                elif key == "related" and value:
                    out["related"] = [v for v in value.split(",") if v]
                elif key == "retired":
                    out["retired"] = value == "true"
            current = "_done"
            continue
        if stripped in headings:
            current = headings[stripped]
            lists[current] = []
            continue
        if stripped.startswith("Cues: ") and current != "_text":
            out["cues"] = [c.strip() for c in stripped[len("Cues: ") :].split(";") if c.strip()]
            current = "_done"
            continue
        if current is None:
            definition.append(line)
        elif current in lists:
            if stripped.startswith("- "):
                lists[current].append(stripped[2:])
            elif stripped and lists[current]:
                lists[current][-1] += "\n" + stripped
    out["definition"] = "\n".join(definition).strip()
    out.update(lists)
    return out


# -- writing ------------------------------------------------------------------------------------
def code_element(book: Codebook, code: Code, ns: str) -> Element:
    el = Element("Code", {"guid": code_guid(book, code.id), "name": code.name})
    el.set("isCodable", "true" if code.codable else "false")
    if code.color:
        el.set("color", code.color)
    ET.SubElement(el, "Description").text = fold_description(code)
    return el


def codes_element(book: Codebook, ns: str, note_refs: dict[str, list[str]] | None = None) -> Element:
    """``<Codes>`` with the codes nested by ``parent`` (codebook order within each level)."""
    codes = Element("Codes")

    def add(parent_el: Element, parent_id: str | None) -> None:
        for code in book.children(parent_id):
            el = code_element(book, code, ns)
            for note in (note_refs or {}).get(code.id, []):
                ET.SubElement(el, "NoteRef", {"targetGUID": note})
            parent_el.append(el)
            add(el, code.id)

    add(codes, None)
    return codes


def serialize(root: Element, ns: str) -> bytes:
    """UTF-8 without BOM, LF line ends, two-space indent, ``ns`` as the default namespace.

    Elements are built with plain tag names; the root declares the namespaces."""
    root.set("xmlns", ns)
    if ns in SCHEMA_LOCATION:
        root.set("xmlns:xsi", XSI)
        root.set("xsi:schemaLocation", SCHEMA_LOCATION[ns])
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def qdc_root(book: Codebook) -> Element:
    root = Element("CodeBook", {"origin": f"{ORIGIN} (codebook {book.name})"})
    root.append(codes_element(book, NS_CODEBOOK))
    return root


def qdc_bytes(book: Codebook) -> bytes:
    return serialize(qdc_root(book), NS_CODEBOOK)


def write_qdc(book: Codebook, path: str | Path) -> Path:
    """Write ``book`` as a QDC file (valid against ``Codebook.xsd``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(qdc_bytes(book))
    tmp.replace(target)
    return target


# -- reading ------------------------------------------------------------------------------------
@dataclass
class RawCode:
    """A ``<Code>`` as read: its full name path, GUID and what its description unfolds to."""

    guid: str
    path: list[str]
    description: str | None
    color: str | None
    codable: bool
    element: Element


def parse_codes(codes_el: Element, ns: str, findings: Findings) -> list[RawCode]:
    """Every ``<Code>`` under ``<Codes>``, depth first, with ``a::b`` and ``a\\b`` names split."""
    out: list[RawCode] = []
    seen: set[str] = set()

    def walk(el: Element, parent_path: list[str]) -> None:
        for child in el:
            if split_tag(child.tag)[1] != "Code":
                continue
            name = (child.get("name") or "").strip()
            if not name:
                findings.warn(child, "has no name; named after its guid")
                name = child.get("guid") or "unnamed"
            guid = norm_guid(child.get("guid"), child, findings)
            if guid in seen:
                findings.warn(child, f"guid {guid} is used by another code too; the later one is kept apart")
                guid = f"{guid}#{len(out)}"
            seen.add(guid)
            color = child.get("color")
            if color is not None and not COLOR.match(color.strip()):
                findings.warn(child, f"color {color!r} is not #RRGGBB or #RGB; dropped")
                color = None
            codable_raw = (child.get("isCodable") or "true").strip().lower()
            if child.get("isCodable") is None:
                findings.warn(child, "has no isCodable (required); taken as true")
            desc_el = child.find(tag(ns, "Description"))
            parts = [p.strip() for p in _HIER_SEP.split(name) if p.strip()] or [name]
            path = parent_path + parts
            out.append(
                RawCode(
                    guid=guid,
                    path=path,
                    description=desc_el.text if desc_el is not None else None,
                    color=color.strip() if color else None,
                    codable=codable_raw not in ("false", "0"),
                    element=child,
                )
            )
            walk(child, path)

    walk(codes_el, [])
    return out


@dataclass
class CodeMapping:
    """The codebook built from (or merged with) a file's codes, and which GUID became which id."""

    codebook: Codebook
    by_guid: dict[str, str] = field(default_factory=dict)
    new_codes: list[str] = field(default_factory=list)


def _key(path: list[str]) -> tuple[str, ...]:
    return tuple(p.casefold() for p in path)


def build_codebook(
    raw: list[RawCode],
    *,
    name: str,
    base: Codebook | None = None,
    source: str = "<codebook>",
    title: str = "",
) -> CodeMapping:
    """A codebook from a file's codes. With ``base``, codes it has (same simap id, else the same name
    path) map onto it and the others are appended, which makes a new codebook version."""
    base_ids = [c.id for c in base.codes] if base else []
    taken = set(base_ids)
    base_paths: dict[tuple[str, ...], str] = {}
    if base:
        for c in base.codes:
            base_paths.setdefault(_key(base.path(c.id)), c.id)
    mapping = CodeMapping(codebook=base or Codebook(name=name, codes=[_placeholder()]))
    path_ids: dict[tuple[str, ...], str] = dict(base_paths)
    unfolded = [unfold_description(r.description) for r in raw]
    ids: list[str] = []
    matched: list[bool] = []
    # pass 1: every code gets its id (a code of ``base``, its own simap id, or one made from its name)
    for r, fields in zip(raw, unfolded, strict=True):
        key = _key(r.path)
        simap_id = fields.get("id")
        if base and isinstance(simap_id, str) and simap_id in taken and simap_id in base_ids:
            cid, is_base = simap_id, True
        elif base and key in base_paths:
            cid, is_base = base_paths[key], True
        elif isinstance(simap_id, str) and simap_id not in taken:
            cid, is_base = simap_id, False
            taken.add(cid)
        else:
            cid, is_base = code_id_for(r.path[-1], taken), False
        path_ids.setdefault(key, cid)
        ids.append(cid)
        matched.append(is_base)
        mapping.by_guid[r.guid] = cid
    # pass 2: the new codes, with parents; a parent named only in a path becomes a category
    new: list[dict[str, object]] = []

    def parent_of(path: list[str]) -> str | None:
        if len(path) <= 1:
            return None
        key = _key(path[:-1])
        if key not in path_ids:
            grand = parent_of(path[:-1])
            cid = code_id_for(path[-2], taken)
            path_ids[key] = cid
            new.append(
                {
                    "id": cid,
                    "kind": "category",
                    "name": path[-2],
                    "definition": path[-2],
                    "parent": grand,
                    "codable": False,
                }
            )
        return path_ids[key]

    for r, fields, cid, is_base in zip(raw, unfolded, ids, matched, strict=True):
        if is_base:
            continue
        code: dict[str, object] = {
            "id": cid,
            "kind": fields.get("kind") or "code",
            "name": r.path[-1],
            "definition": fields.get("definition") or r.path[-1],
            "parent": parent_of(r.path),
            "codable": r.codable,
        }
        for k in ("include", "exclude", "examples", "counter_examples", "cues", "related", "retired"):
            if k in fields:
                code[k] = fields[k]
        if r.color:
            code["color"] = r.color
        new.append(code)
        mapping.new_codes.append(cid)
    for code in new:  # related ids that did not come along are dropped, not fatal
        if "related" in code:
            code["related"] = [x for x in code["related"] if x in taken]  # type: ignore[attr-defined]
    if not base and not new:
        raise InvalidCodebook(
            "the file holds no codes.", source=source, hint="export a codebook with at least one code"
        )
    data: dict[str, Any] = (
        base.model_dump(mode="json") if base else {"name": name, "title": title, "codes": []}
    )
    data["codes"] = [*data["codes"], *new]
    if base and base.kinds:
        data["kinds"] = list(dict.fromkeys([*base.kinds, *(str(c["kind"]) for c in new)]))
    from simap.codebook.loader import from_dict

    mapping.codebook = from_dict(data, source=source)
    return mapping


def _placeholder() -> Code:
    return Code(id="placeholder", kind="code", name="placeholder", definition="placeholder")


def check_namespace(root: Element, expected: tuple[str, ...], findings: Findings) -> str:
    ns, _ = split_tag(root.tag)
    if ns == NS_CODEBOOK_OLD:
        findings.warn(root, f"uses the pre-1.0 namespace {ns!r} (ATLAS.ti 9); read as {expected[0]!r}")
    elif ns == "":
        findings.warn(root, f"has no namespace; read as {expected[0]!r}")
    elif ns not in expected:
        findings.warn(root, f"has namespace {ns!r}, expected {expected[0]!r}; read anyway")
    return ns


@dataclass
class QdcResult:
    codebook: Codebook
    mapping: CodeMapping
    warnings: list[str]
    losses: list[str]


def read_qdc(
    path: str | Path,
    *,
    strict: bool = False,
    name: str | None = None,
    base: Codebook | None = None,
) -> QdcResult:
    """Read a QDC file into a simap codebook (named ``name``, else after the file)."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"codebook file {str(p)!r} does not exist.", hint="check the path")
    findings = Findings(str(p), strict=strict)
    root = parse_xml(p.read_bytes(), source=str(p))
    ns = check_namespace(root, (NS_CODEBOOK,), findings)
    if split_tag(root.tag)[1] != "CodeBook":
        raise InvalidInput(
            f"the root element is <{split_tag(root.tag)[1]}>, expected <CodeBook>.",
            source=str(p),
            hint="pass a REFI-QDA codebook (.qdc); a project (.qdpx) goes to `simap import`",
        )
    if strict and ns == NS_CODEBOOK:
        for err in schema_errors(root, "codebook"):
            findings.warn(None, f"does not validate against Codebook.xsd: {err}")
    codes_el = root.find(tag(ns, "Codes"))
    if codes_el is None or not len(codes_el):
        raise InvalidCodebook(
            "the file has no <Codes> with a <Code>.", source=str(p), hint="export the codes"
        )
    sets_el = root.find(tag(ns, "Sets"))
    if sets_el is not None:
        sets = [s for s in sets_el if split_tag(s.tag)[1] == "Set"]
        if not sets:
            findings.warn(sets_el, "is empty (the schema needs at least one <Set>); ignored")
        else:
            findings.lose(f"{len(sets)} code set(s) (code groups) are not kept: simap has no code groups")
    raw = parse_codes(codes_el, ns, findings)
    findings.check_strict()
    from simap.ingest.mapping import slugify

    origin = re.search(r"\(codebook ([^)]+)\)$", root.get("origin") or "")
    book_name = name or (origin.group(1) if origin else slugify(p.stem)) or "imported-codebook"
    mapping = build_codebook(raw, name=book_name, base=base, source=str(p), title=root.get("origin") or "")
    return QdcResult(mapping.codebook, mapping, findings.warnings, findings.losses)
