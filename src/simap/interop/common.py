"""What the QDC and QDPX modules share: namespaces, deterministic GUIDs, the warnings of an import,
XSD validation against the shipped schemas, and code ids made from tool code names."""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from xml.etree.ElementTree import Element

from simap import __version__
from simap.errors import InvalidInput
from simap.ingest.mapping import slugify

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NS_CODEBOOK_OLD = "urn:QDA-XML:codebook:0:4"  # ATLAS.ti 9
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = {
    NS_PROJECT: f"{NS_PROJECT} http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd",
    NS_CODEBOOK: f"{NS_CODEBOOK} http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd",
}
ORIGIN = f"simap {__version__}"

SIMAP_NAMESPACE = uuid.UUID("6f0c3b8e-5d2a-5a51-9c44-3d5e0f6b7a10")
"""The uuid5 namespace of every GUID simap writes: the same object gets the same GUID on every export."""

_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def make_guid(kind: str, *parts: object) -> str:
    """``uuid5(SIMAP_NAMESPACE, "kind:part:part")``, e.g. ``make_guid("code", book, code_id)``."""
    return str(uuid.uuid5(SIMAP_NAMESPACE, ":".join([kind, *(str(p) for p in parts)])))


def tag(ns: str, name: str) -> str:
    """The parsed tag of ``name`` in namespace ``ns`` (plain ``name`` without one)."""
    return f"{{{ns}}}{name}" if ns else name


def split_tag(value: Any) -> tuple[str, str]:
    """``("urn:...", "Code")`` from ``"{urn:...}Code"``; ``("", name)`` without a namespace."""
    text = str(value)
    if text.startswith("{"):
        ns, _, name = text[1:].partition("}")
        return ns, name
    return "", text


def describe(el: Element) -> str:
    """``<Code name="Diet" guid="...">`` for messages."""
    _, name = split_tag(el.tag)
    attrs = " ".join(f'{k}="{el.get(k)}"' for k in ("name", "guid") if el.get(k) is not None)
    return f"<{name}{' ' + attrs if attrs else ''}>"


@dataclass
class Findings:
    """What an import noticed. ``warnings``: deviations from REFI-QDA 1.0 that were worked around
    (strict mode refuses the file instead); ``losses``: valid content simap does not keep."""

    source: str
    strict: bool = False
    warnings: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)

    def warn(self, element: Element | str | None, message: str) -> None:
        where = describe(element) if isinstance(element, Element) else (element or "")
        self.warnings.append(f"{self.source}: {where + ': ' if where else ''}{message}")

    def lose(self, message: str) -> None:
        self.losses.append(f"{self.source}: {message}")

    def check_strict(self) -> None:
        if self.strict and self.warnings:
            raise InvalidInput(
                f"refused in strict mode: {len(self.warnings)} deviation(s) from REFI-QDA 1.0, first: "
                f"{self.warnings[0]}",
                source=self.source,
                hint="import without --strict to work around them (each is then reported as a warning)",
                details=self.warnings,
            )


def norm_guid(value: str | None, el: Element, findings: Findings) -> str:
    """GUIDs as upper case without braces; a missing or non-UUID GUID is kept with a warning."""
    if value is None or not value.strip():
        findings.warn(el, "has no guid; one was made up from its position")
        return f"MISSING-{id(el):X}"
    clean = value.strip().strip("{}").upper()
    if not _UUID.match(clean):
        findings.warn(el, f"guid {value!r} is not a UUID (8-4-4-4-12 hex digits); kept as it is")
    return clean


@functools.lru_cache(maxsize=2)
def _schema(kind: str) -> Any:
    import xmlschema

    name = {"project": "Project.xsd", "codebook": "Codebook.xsd"}[kind]
    with resources.as_file(resources.files("simap.interop.xsd") / name) as path:
        return xmlschema.XMLSchema(str(path))


def schema_errors(root: Element, kind: str, limit: int = 20) -> list[str]:
    """XSD validation errors of a parsed document (``kind``: "project" or "codebook")."""
    out = []
    for err in _schema(kind).iter_errors(root):
        out.append(f"{err.path or '/'}: {err.reason or err.message}")
        if len(out) >= limit:
            break
    return out


def code_id_for(name: str, taken: set[str]) -> str:
    """A codebook id (letters, digits, ``_.-``; starts with a letter; <= 64) made from a code name."""
    ascii_slug = re.sub(r"[^a-z0-9-]+", "-", slugify(name).encode("ascii", "ignore").decode()).strip("-")
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    base = ascii_slug or f"code-{digest}"
    if not base[0].isalpha():
        base = f"c-{base}"
    if len(base) > 64:
        base = f"{base[:55].rstrip('-')}-{digest}"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate
