"""Discovery results: candidate codes from themes, JSON round trip, promotion into a codebook.

A :class:`Discovery` holds the themes found in the sentences the codebook does not explain and,
per theme, a draft :class:`~simap.codebook.schema.Code` (id, name, definition draft, example
sentences = representative quotes, cues = top terms). :func:`promote` adds chosen candidates to
a codebook (a new version, since the version is the content hash) and :func:`write_codebook`
saves it as YAML for ``simap code --codebook that.yaml``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simap.codebook.schema import Code, Codebook
from simap.discover.themes import Theme
from simap.errors import InvalidInput, NotFound, expected

EMERGING_KIND = "emerging"


@dataclass
class Discovery:
    codebook: str
    codebook_version: str
    n_sentences: int
    n_unexplained: int
    max_score: float
    params: dict[str, Any]
    themes: list[Theme]
    candidates: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["themes"] = [t.to_dict() for t in self.themes]
        return out

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Discovery:
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
            data["themes"] = [Theme(**t) for t in data["themes"]]
            return cls(**data)
        except FileNotFoundError as exc:
            raise NotFound(
                f"no discovery file {source}.", hint="run `simap discover --out FILE` first"
            ) from exc
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInput(
                f"{source} is not a discovery file written by `simap discover` ({exc}).", source=str(source)
            ) from exc


def _name(terms: list[str]) -> str:
    words = [t for t in terms[:3] if t]
    return " / ".join(w[:1].upper() + w[1:] for w in words) or "Unnamed theme"


def candidate_code(theme: Theme, *, prefix: str = "EM", kind: str = EMERGING_KIND) -> Code:
    """A draft code for ``theme``; the analyst edits name and definition before relying on it."""
    terms = theme.terms
    listed = ", ".join(terms[:4])
    definition = (
        f"Draft from discovery: ventures whose descriptions recur on {listed}. "
        f"Found in {theme.size} sentences of {theme.n_ventures} ventures that no existing code explained."
    )
    examples = [str(q["text"]).strip() for q in theme.quotes if str(q.get("text", "")).strip()]
    if len(examples) < 2:
        examples += [f"The venture works on {t}." for t in terms[:2]]
    return Code(
        id=f"{prefix}{theme.index + 1}",
        kind=kind,
        name=_name(terms),
        definition=definition,
        include=[f"the text describes {t}" for t in terms[:3]],
        examples=examples,
        cues=[t for t in terms[:5] if re.fullmatch(r"[\w\- ]+", t)],
    )


def candidates(themes: list[Theme], *, prefix: str = "EM") -> list[dict[str, Any]]:
    return [candidate_code(t, prefix=prefix).model_dump(mode="json", exclude_defaults=True) for t in themes]


def promote(
    codebook: Codebook,
    discovery: Discovery,
    themes: list[int] | list[str],
    *,
    kind: str = EMERGING_KIND,
    ids: list[str] | None = None,
    names: list[str] | None = None,
) -> Codebook:
    """A new codebook: ``codebook`` plus the candidate codes of ``themes`` (theme indexes or
    candidate ids such as ``"EM2"``), with the given ``kind`` and optional ``ids``/``names``."""
    chosen: list[Theme] = []
    by_id = {str(c.get("id")): i for i, c in enumerate(discovery.candidates)}
    for ref in themes:
        idx = by_id.get(str(ref)) if not str(ref).isdigit() else int(ref)
        if idx is None or not 0 <= idx < len(discovery.themes):
            raise NotFound(
                f"no theme {ref!r} in the discovery (it has {len(discovery.themes)} themes: "
                f"0-{len(discovery.themes) - 1} or ids {', '.join(by_id) or 'none'}).",
                hint="run `simap discover` and pick a theme it lists",
            )
        chosen.append(discovery.themes[idx])
    for given, label in ((ids, "ids"), (names, "names")):
        if given is not None and len(given) != len(chosen):
            raise InvalidInput(expected(label, f"{len(chosen)} value(s), one per theme", given), field=label)
    data = codebook.model_dump(mode="json")
    existing = {c["id"] for c in data["codes"]}
    for n, theme in enumerate(chosen):
        code = candidate_code(theme, kind=kind).model_dump(mode="json")
        if ids is not None:
            code["id"] = ids[n]
        if names is not None:
            code["name"] = names[n]
        if code["id"] in existing:
            raise InvalidInput(
                f"code id {code['id']!r} is already in codebook {codebook.name!r}.",
                field="ids",
                hint="pass another id with --id",
            )
        existing.add(code["id"])
        data["codes"].append(code)
    if data.get("kinds") and kind not in data["kinds"]:
        data["kinds"].append(kind)
    return Codebook.model_validate(data)


def write_codebook(codebook: Codebook, path: str | Path) -> Path:
    """Save ``codebook`` as YAML (loadable with ``simap.codebook.load(path)``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = codebook.model_dump(mode="json", exclude_defaults=True)
    data["name"] = codebook.name
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return target


__all__ = ["EMERGING_KIND", "Discovery", "candidate_code", "candidates", "promote", "write_codebook"]
