"""Reading untrusted REFI-QDA files safely: XML without entities or DTDs, ZIP archives with limits.

* XML goes through :mod:`defusedxml` with DTDs forbidden, so there is no XXE (external entities),
  no billion laughs (entity expansion) and no network access while parsing.
* A ``.qdpx`` is never extracted to disk: members are read into memory one at a time, only when
  needed. Even so, an entry whose name is absolute or climbs out with ``..`` is refused (zip-slip),
  and so is an archive that could expand past the :class:`ZipLimits` (zip bomb): too many entries,
  an entry or a total too large, or an entry compressed by more than ``max_ratio``. Sizes are
  checked on the declared header *and* while reading, so a header that lies does not help.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET

from simap.errors import InvalidInput

_DRIVE = re.compile(r"^[A-Za-z]:")


def parse_xml(data: bytes, *, source: str) -> Element:
    """Parse XML bytes with DTDs and entities forbidden; errors name ``source``."""
    try:
        return DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise InvalidInput(
            f"refused unsafe XML ({type(exc).__name__}: {exc}); REFI-QDA files never need a DTD or "
            "entity declarations.",
            source=source,
            hint="re-export the file from its tool; do not import files of unknown origin",
        ) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise InvalidInput(
            f"not well-formed XML ({exc}).",
            source=source,
            line=line,
            hint="the file is damaged or not REFI-QDA XML; re-export it from its tool",
        ) from None


@dataclass(frozen=True)
class ZipLimits:
    """How far a ``.qdpx`` may expand before it is refused as a zip bomb."""

    max_members: int = 20_000
    max_member_bytes: int = 2**31 - 1  # REFI-QDA 1.5 section 8.5
    max_total_bytes: int = 2 * 2**30
    max_ratio: float = 200.0
    ratio_floor: int = 1 << 20  # entries smaller than this may compress as well as they like


def safe_member_name(name: str) -> str | None:
    """The entry name with ``/`` separators, or ``None`` if it would escape the archive."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or _DRIVE.match(clean):
        return None
    parts = PurePosixPath(clean).parts
    if any(p == ".." for p in parts):
        return None
    return "/".join(p for p in parts if p not in ("", "."))


class SafeArchive:
    """A ZIP opened for reading with :class:`ZipLimits` checked up front and while reading."""

    def __init__(self, path: str | Path, limits: ZipLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or ZipLimits()
        self.source = str(self.path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InvalidInput(
                f"not a readable ZIP archive ({exc}); a .qdpx is a ZIP holding project.qde and sources/.",
                source=self.source,
                hint="check that the file was copied completely, or re-export it from its tool",
            ) from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._read_total = 0
        self._check()

    def _refuse(self, message: str) -> InvalidInput:
        return InvalidInput(
            message, source=self.source, hint="this does not look like a QDPX written by a QDA tool"
        )

    def _check(self) -> None:
        infos = self._zip.infolist()
        lim = self.limits
        if len(infos) > lim.max_members:
            raise self._refuse(
                f"the archive has {len(infos)} entries; at most {lim.max_members} are allowed."
            )
        total = 0
        for info in infos:
            name = safe_member_name(info.filename)
            if name is None:
                raise self._refuse(
                    f"entry {info.filename!r} points outside the archive (absolute path or '..'); "
                    "refused (zip-slip)."
                )
            if info.is_dir():
                continue
            if info.file_size > lim.max_member_bytes:
                raise self._refuse(
                    f"entry {info.filename!r} would expand to {info.file_size} bytes; at most "
                    f"{lim.max_member_bytes} are allowed (zip bomb guard)."
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > lim.ratio_floor and ratio > lim.max_ratio:
                raise self._refuse(
                    f"entry {info.filename!r} is compressed {ratio:.0f}:1 ({info.compress_size} -> "
                    f"{info.file_size} bytes); more than {lim.max_ratio:.0f}:1 is refused (zip bomb guard)."
                )
            total += info.file_size
            self._infos[name] = info
        if total > lim.max_total_bytes:
            raise self._refuse(
                f"the archive would expand to {total} bytes; at most {lim.max_total_bytes} are allowed "
                "(zip bomb guard)."
            )

    def names(self) -> list[str]:
        return list(self._infos)

    def find(self, name: str) -> str | None:
        """The stored entry name matching ``name`` exactly, else case-insensitively."""
        if name in self._infos:
            return name
        low = name.lower()
        for stored in self._infos:
            if stored.lower() == low:
                return stored
        return None

    def read(self, name: str) -> bytes:
        """Read one entry, never more than its declared size and the limits allow."""
        info = self._infos[name]
        budget = min(info.file_size, self.limits.max_member_bytes)
        budget = min(budget, self.limits.max_total_bytes - self._read_total)
        chunks: list[bytes] = []
        size = 0
        try:
            with self._zip.open(info) as fh:
                while True:
                    chunk = fh.read(1 << 16)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > budget:
                        raise self._refuse(
                            f"entry {info.filename!r} expands past its declared size or the limits "
                            "(zip bomb guard)."
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
            raise InvalidInput(
                f"entry {info.filename!r} cannot be read ({exc}); the archive is damaged.",
                source=self.source,
                hint="re-export the project from its tool",
            ) from None
        self._read_total += size
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
