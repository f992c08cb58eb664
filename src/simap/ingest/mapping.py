"""Which input field becomes which venture column.

A :class:`FieldMapping` names the source field of each VENTURES column (``id``, ``name``,
``country``, ``sector``, ``year``), the text fields (each becomes its own DOCUMENTS row) and the
fields kept as metadata. A field left as ``None`` is auto-detected from the field names of the file
(case-insensitively), see ``*_CANDIDATES``. ``FieldMapping.parse_cli`` turns the CLI's
``--map text=mission,program --map id=ein`` into a mapping.

:meth:`FieldMapping.resolve` binds a mapping to the field names one file actually has and checks
that every explicitly named field exists there, so a typo fails once, up front, with the list of
available fields, instead of once per row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from simap.errors import InvalidInput

ID_CANDIDATES = ("id", "ein", "slug")
NAME_CANDIDATES = ("name", "title")
TEXT_CANDIDATES = ("description", "text", "mission", "program", "summary", "profile", "interview")
COUNTRY_CANDIDATES = ("country", "countries")
SECTOR_CANDIDATES = ("sector", "sectors")
YEAR_CANDIDATES = ("year", "founded")

MAPPING_KEYS = ("id", "name", "text", "country", "sector", "year", "metadata")
_LIST_KEYS = frozenset({"text", "metadata"})

_NON_WORD = re.compile(r"[\W_]+")


def slugify(value: str) -> str:
    """A lower-case, dash-separated identifier: ``"Aam Digital GmbH"`` -> ``"aam-digital-gmbh"``.

    Accents are dropped (``é`` -> ``e``); letters of other scripts are kept as they are. Returns
    ``""`` when nothing word-like is left.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub("-", plain.lower()).strip("-")


@dataclass(frozen=True)
class ResolvedMapping:
    """A :class:`FieldMapping` bound to the actual field names of one file.

    ``id`` is ``None`` when the file has no id field: the id is then the slug of the name.
    ``metadata`` is ``None`` for "every field not used above".
    """

    id: str | None
    name: str | None
    text: tuple[str, ...]
    country: str | None
    sector: str | None
    year: str | None
    metadata: tuple[str, ...] | None

    @property
    def used(self) -> frozenset[str]:
        fields = [self.id, self.name, self.country, self.sector, self.year, *self.text]
        return frozenset(f for f in fields if f is not None)


class FieldMapping(BaseModel):
    """Source field of every venture column; ``None`` means auto-detect.

    ``text`` lists several text fields (each becomes its own DOCUMENTS row, named by its field);
    by default every field of ``TEXT_CANDIDATES`` that the file has, in that order. ``metadata``
    ``None`` keeps every other field as metadata; a list keeps only those fields.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    name: str | None = None
    text: list[str] | None = None
    country: str | None = None
    sector: str | None = None
    year: str | None = None
    metadata: list[str] | None = None

    @field_validator("text", "metadata", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("text")
    @classmethod
    def _text_not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("text needs at least one field name")
        return value

    @classmethod
    def parse_cli(cls, items: Iterable[str]) -> FieldMapping:
        """Build a mapping from ``KEY=FIELD`` strings (the CLI's repeated ``--map`` option).

        ``text`` and ``metadata`` take comma-separated lists: ``["text=mission,program", "id=ein"]``.
        """
        values: dict[str, str | list[str]] = {}
        valid = ", ".join(MAPPING_KEYS)
        for item in items:
            key, sep, raw = item.partition("=")
            key = key.strip().lower()
            raw = raw.strip()
            if not sep or not key:
                raise InvalidInput(
                    f"--map entries must look like KEY=FIELD; got {item!r}.",
                    field="--map",
                    hint=f"write e.g. --map text=mission,program --map id=ein (KEY is one of: {valid})",
                )
            if key not in MAPPING_KEYS:
                raise InvalidInput(
                    f"--map key must be one of {valid}; got {key!r} in {item!r}.",
                    field="--map",
                    hint=f"use one of: {valid}",
                )
            if key in values:
                raise InvalidInput(
                    f"--map {key}= is given twice; got {item!r} after {key}={values[key]!r}.",
                    field="--map",
                    hint=f"give each key once; list several fields with commas: --map {key}=A,B"
                    if key in _LIST_KEYS
                    else "give each key once",
                )
            parts = [p.strip() for p in raw.split(",") if p.strip()]
            if not parts or (key not in _LIST_KEYS and len(parts) > 1):
                expected = (
                    "one or more comma-separated field names" if key in _LIST_KEYS else "one field name"
                )
                raise InvalidInput(
                    f"--map {key}= must name {expected}; got {item!r}.",
                    field="--map",
                    hint=f"write e.g. --map {key}=FIELD",
                )
            values[key] = parts if key in _LIST_KEYS else parts[0]
        try:
            return cls.model_validate(values)
        except ValidationError as exc:  # pragma: no cover - the checks above catch what the model does
            raise InvalidInput(f"--map does not validate: {exc}", field="--map") from None

    def resolve(self, fields: Sequence[str], *, source: str | None = None) -> ResolvedMapping:
        """Bind this mapping to the field names of one file (in their order of appearance).

        Raises :class:`InvalidInput` when an explicitly named field is absent, or when no text
        field can be found.
        """
        by_lower: dict[str, str] = {}
        for f in fields:
            by_lower.setdefault(f.strip().lower(), f)
        available = ", ".join(repr(f) for f in fields) or "(none)"

        def explicit(key: str, name: str) -> str:
            if name in fields:
                return name
            found = by_lower.get(name.strip().lower())
            if found is not None:
                return found
            raise InvalidInput(
                f"the mapping names field {name!r} for {key}, which no row has; the fields are: {available}.",
                source=source,
                field=name,
                hint=f"correct --map {key}= to one of the fields listed",
            )

        def auto(candidates: Sequence[str]) -> str | None:
            for c in candidates:
                if c in by_lower:
                    return by_lower[c]
            return None

        def pick(key: str, value: str | None, candidates: Sequence[str]) -> str | None:
            return explicit(key, value) if value is not None else auto(candidates)

        if self.text is not None:
            text = tuple(explicit("text", t) for t in self.text)
        else:
            text = tuple(by_lower[c] for c in TEXT_CANDIDATES if c in by_lower)
        if not text:
            raise InvalidInput(
                f"no text field found: expected a field named one of {', '.join(TEXT_CANDIDATES)}; "
                f"the fields are: {available}.",
                source=source,
                field="text",
                hint="name the text field(s) with --map text=FIELD[,FIELD] (FieldMapping(text=[...]))",
            )
        metadata = None
        if self.metadata is not None:
            metadata = tuple(explicit("metadata", m) for m in self.metadata)
        return ResolvedMapping(
            id=pick("id", self.id, ID_CANDIDATES),
            name=pick("name", self.name, NAME_CANDIDATES),
            text=text,
            country=pick("country", self.country, COUNTRY_CANDIDATES),
            sector=pick("sector", self.sector, SECTOR_CANDIDATES),
            year=pick("year", self.year, YEAR_CANDIDATES),
            metadata=metadata,
        )
