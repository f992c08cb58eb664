"""The codebook format: pydantic models, validated at the boundary.

A codebook is a YAML file::

    name: social-innovation
    title: Social Innovation Mapping patterns
    description: ...
    label_mode: multi            # multi (default) or single (exactly one code per venture)
    kinds: [design_principle, barrier, challenge]   # optional; user kinds allowed
    codes:
      - id: DP1
        kind: design_principle
        name: Digital citizenship beyond digital literacy
        definition: ...
        include: [rule, ...]     # "code it when the text shows"
        exclude: [rule, ...]     # "do not code when"
        examples: [sentence, ...]            # positive example sentences
        counter_examples: [sentence, ...]    # near misses that must NOT be coded
        cues: [phrase, ...]                  # short lexical cues (case-insensitive phrases)
        related: [B3]
        parent: DP            # optional: the id of the code this one sits under (a hierarchy)
        color: "#1F77B4"      # optional: #RRGGBB or #RGB, shown by QDA tools (REFI-QDA)
        codable: true         # false marks a category that only groups its children
        solutions:
          - title: ...
            description: ...
            why: ...
            prerequisites: [...]
            cost: low|medium|high
            example_ventures: [...]

The version of a codebook is the SHA-256 of its canonical JSON content (first 12 hex digits).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUILTIN_KINDS = ("design_principle", "barrier", "challenge")
CODE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
COLOR = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")
HIERARCHY_FIELDS = {"parent": None, "color": None, "codable": True}
"""Fields added for REFI-QDA; left out of the version hash at their defaults so that the versions
of codebooks written before them do not change."""


class Solution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    why: str = ""
    prerequisites: list[str] = Field(default_factory=list)
    cost: Literal["low", "medium", "high"] = "medium"
    example_ventures: list[str] = Field(default_factory=list)


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    counter_examples: list[str] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    solutions: list[Solution] = Field(default_factory=list)
    retired: bool = False
    parent: str | None = None
    color: str | None = None
    codable: bool = True

    @field_validator("color")
    @classmethod
    def _check_color(cls, value: str | None) -> str | None:
        if value is not None and not COLOR.match(value):
            raise ValueError(f"must be a colour written #RRGGBB or #RGB; got {value!r}")
        return value

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not CODE_ID.match(value):
            raise ValueError(
                "must start with a letter and contain only letters, digits, '_', '.' or '-' "
                f"(at most 64 characters); got {value!r}"
            )
        return value

    @field_validator("kind")
    @classmethod
    def _check_kind(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9_]*$", value):
            raise ValueError(f"must be a lower_snake_case word such as 'barrier'; got {value!r}")
        return value

    def anchor_texts(self) -> list[str]:
        """Texts that describe what the code looks like in a venture description."""
        return [self.definition, *self.include, *self.examples]


class Codebook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    label_mode: Literal["multi", "single"] = "multi"
    kinds: list[str] = Field(default_factory=list)
    codes: list[Code] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_codes(self) -> Codebook:
        seen: set[str] = set()
        for code in self.codes:
            if code.id in seen:
                raise ValueError(f"code id {code.id!r} appears more than once; ids must be unique")
            seen.add(code.id)
        for code in self.codes:
            for rel in code.related:
                if rel not in seen:
                    raise ValueError(
                        f"code {code.id!r} lists related code {rel!r}, which is not in the codebook"
                    )
        for code in self.codes:
            if code.parent is not None and code.parent not in seen:
                raise ValueError(f"code {code.id!r} has parent {code.parent!r}, which is not in the codebook")
        parents = {c.id: c.parent for c in self.codes}
        for code in self.codes:
            chain, at = {code.id}, code.parent
            while at is not None:
                if at in chain:
                    raise ValueError(
                        f"code {code.id!r} is its own ancestor (its parent chain loops through {at!r})"
                    )
                chain.add(at)
                at = parents.get(at)
        if self.kinds:
            for code in self.codes:
                if code.kind not in self.kinds:
                    raise ValueError(
                        f"code {code.id!r} has kind {code.kind!r}, not one of the declared kinds {self.kinds}"
                    )
        return self

    @property
    def version(self) -> str:
        data = self.model_dump(mode="json")
        for code in data["codes"]:
            for key, default in HIERARCHY_FIELDS.items():
                if code.get(key) == default:
                    code.pop(key, None)
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    @property
    def active_codes(self) -> list[Code]:
        return [c for c in self.codes if not c.retired and c.codable]

    def code(self, code_id: str) -> Code:
        for c in self.codes:
            if c.id == code_id:
                return c
        from simap.errors import NotFound

        raise NotFound(
            f"codebook {self.name!r} has no code {code_id!r}; its codes are "
            f"{', '.join(c.id for c in self.codes)}."
        )

    def children(self, code_id: str | None) -> list[Code]:
        """The codes directly under ``code_id`` (``None``: the top-level codes), in codebook order."""
        return [c for c in self.codes if c.parent == code_id]

    def path(self, code_id: str) -> list[str]:
        """Names from the top-level ancestor down to the code, e.g. ``["Coke", "diet Coke"]``."""
        by_id = {c.id: c for c in self.codes}
        names: list[str] = []
        at: str | None = code_id
        while at is not None:
            names.append(by_id[at].name)
            at = by_id[at].parent
        return names[::-1]

    def ids(self, kind: str | None = None) -> list[str]:
        return [c.id for c in self.active_codes if kind is None or c.kind == kind]
