"""The intake questionnaire: load it, write a blank answers file, map answers to codes.

``questionnaire()`` returns the built-in questionnaire (``questionnaire.yaml``: sections of
questions, each with rules saying which answer is evidence for which code); the web form renders
it. ``load_answers(path)`` reads a YAML/JSON answers file, ``check_answers`` validates and
normalises a mapping, and ``score_answers(answers)`` returns one :class:`CodeEvidence` per code
the answers reveal, the answer quoted as the evidence.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simap.advise.models import CodeEvidence, Evidence
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, NotFound

QuestionType = Literal["yesno", "scale", "choice", "multi", "text", "list"]
_YES = {"yes", "y", "true", "1", "ja", "oui", "si", "sí"}
_NO = {"no", "n", "false", "0", "nein", "non"}


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    label: str


class Rule(BaseModel):
    """Which answer is evidence for which code, and how strongly (0-1)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    code: str
    strength: float = Field(0.8, gt=0.0, le=1.0)
    when: Literal["yes", "no"] | None = None
    at_least: int | None = None
    at_most: int | None = None
    in_: list[str] | None = Field(None, alias="in")
    requires: dict[str, str | list[str]] = Field(default_factory=dict)

    @field_validator("when", mode="before")
    @classmethod
    def _yaml_bool(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare yes/no as a boolean
        return ("yes" if value else "no") if isinstance(value, bool) else value

    @field_validator("requires", mode="before")
    @classmethod
    def _yaml_bools(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: ("yes" if v else "no") if isinstance(v, bool) else v for k, v in value.items()}
        return value


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: QuestionType
    prompt: str
    help: str = ""
    options: list[Option] = Field(default_factory=list)
    min: int = 1
    max: int = 5
    labels: dict[int, str] = Field(default_factory=dict)
    codes: list[Rule] = Field(default_factory=list)
    context: Literal["name", "countries", "sectors", "description"] | None = None
    detail_of: str | None = None
    code_text: bool = False

    def option_label(self, option_id: str) -> str:
        return next((o.label for o in self.options if o.id == option_id), option_id)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    questions: list[Question]


class Questionnaire(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: int
    title: str
    intro: str = ""
    sections: list[Section]

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise NotFound(f"the questionnaire has no question {question_id!r}.")

    @model_validator(mode="after")
    def _check(self) -> Questionnaire:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question ids must be unique; repeated: {dupes}")
        known = set(ids)
        for q in self.questions:
            if q.type in ("choice", "multi") and not q.options:
                raise ValueError(f"question {q.id!r} of type {q.type} needs options")
            if q.detail_of and q.detail_of not in known:
                raise ValueError(f"question {q.id!r}: detail_of {q.detail_of!r} is not a question")
            option_ids = {o.id for o in q.options}
            for rule in q.codes:
                bad = sorted(set(rule.in_ or []) - option_ids)
                if bad:
                    raise ValueError(f"question {q.id!r}: rule for {rule.code} names unknown options {bad}")
                missing = sorted(set(rule.requires) - known)
                if missing:
                    raise ValueError(f"question {q.id!r}: rule requires unknown questions {missing}")
        return self

    def code_ids(self) -> set[str]:
        return {r.code for q in self.questions for r in q.codes}


@lru_cache(maxsize=1)
def _builtin_text() -> str:
    return resources.files("simap.advise").joinpath("questionnaire.yaml").read_text(encoding="utf-8")


def questionnaire(path: str | Path | None = None) -> Questionnaire:
    """The built-in intake questionnaire, or one from a YAML file."""
    source = str(path) if path else "questionnaire.yaml (built-in)"
    text = Path(path).read_text(encoding="utf-8") if path else _builtin_text()
    try:
        return Questionnaire.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise InvalidInput(f"the questionnaire does not validate: {exc}", source=source) from exc


# -- answers --------------------------------------------------------------------------------
def load_answers(path: str | Path) -> dict[str, Any]:
    """Read an answers file (YAML or JSON; flat or under an ``answers:`` key)."""
    p = Path(path)
    if not p.exists():
        raise NotFound(
            f"answers file {p} does not exist.", hint="write one with `simap advise questionnaire`"
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not valid YAML or JSON: {exc}", source=str(p)) from exc
    return check_answers(data, source=str(p))


def _fail(q: Question, expected: str, got: Any, source: str | None) -> InvalidInput:
    return InvalidInput(
        f"answer to {q.id!r} must be {expected}; got {got!r}.",
        source=source,
        field=q.id,
        hint="fix the answer or leave it empty to skip the question",
    )


def _normalise(q: Question, value: Any, source: str | None) -> Any:
    if value is None or (isinstance(value, str | list) and not value):
        return None
    if q.type == "yesno":
        if isinstance(value, bool):
            return "yes" if value else "no"
        word = str(value).strip().casefold()
        if word in _YES:
            return "yes"
        if word in _NO:
            return "no"
        raise _fail(q, "yes or no", value, source)
    if q.type == "scale":
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _fail(q, f"a whole number from {q.min} to {q.max}", value, source) from None
        if not q.min <= number <= q.max:
            raise _fail(q, f"a whole number from {q.min} to {q.max}", value, source)
        return number
    if q.type in ("choice", "multi"):
        if q.type == "choice":
            items = [value]
        else:
            items = value if isinstance(value, list) else str(value).split(",")
        out = []
        for item in items:
            key = str(item).strip().casefold()
            match = next((o.id for o in q.options if key in (o.id.casefold(), o.label.casefold())), None)
            if match is None:
                raise _fail(q, f"one of {[o.id for o in q.options]}", item, source)
            out.append(match)
        return out[0] if q.type == "choice" else list(dict.fromkeys(out))
    if q.type == "list":
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(v).strip() for v in items if str(v).strip()] or None
    return str(value).strip() or None


def check_answers(
    data: Any, *, source: str | None = None, form: Questionnaire | None = None
) -> dict[str, Any]:
    """Validate and normalise answers: yes/no to ``"yes"``/``"no"``, scales to ints, choices to
    option ids (labels are accepted), lists to lists; empty answers are dropped."""
    form = form or questionnaire()
    if isinstance(data, Mapping) and isinstance(data.get("answers"), Mapping):
        data = data["answers"]
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"answers must be a mapping of question id to answer; got {type(data).__name__}.",
            source=source,
            hint="write a template with `simap advise questionnaire --out answers.yaml`",
        )
    known = {q.id: q for q in form.questions}
    unknown = sorted(str(k) for k in data if str(k) not in known and k not in ("questionnaire", "version"))
    if unknown:
        raise InvalidInput(
            f"unknown question id(s) {unknown}; the questionnaire {form.name!r} v{form.version} has "
            f"{', '.join(known)}.",
            source=source,
            field=unknown[0],
            hint="use the ids of the template written by `simap advise questionnaire`",
        )
    out: dict[str, Any] = {}
    for key, value in data.items():
        q = known.get(str(key))
        if q is None:
            continue
        norm = _normalise(q, value, source)
        if norm is not None:
            out[q.id] = norm
    return out


def _matches(q: Question, rule: Rule, answer: Any) -> bool:
    if q.type == "yesno":
        return rule.when is not None and answer == rule.when
    if q.type == "scale":
        ok = rule.at_least is not None or rule.at_most is not None
        if rule.at_least is not None:
            ok = ok and answer >= rule.at_least
        if rule.at_most is not None:
            ok = ok and answer <= rule.at_most
        return ok
    if q.type in ("choice", "multi"):
        chosen = answer if isinstance(answer, list) else [answer]
        return bool(set(chosen) & set(rule.in_ or []))
    return False


def _required(rule: Rule, answers: Mapping[str, Any]) -> bool:
    for qid, wanted in rule.requires.items():
        given = answers.get(qid)
        if given is None:
            return False
        wanted_set = {wanted} if isinstance(wanted, str) else set(wanted)
        given_set = set(given) if isinstance(given, list) else {str(given)}
        if not wanted_set & given_set:
            return False
    return True


def answer_label(q: Question, answer: Any) -> str:
    """A readable form of a normalised answer ("yes", "4 of 5 (hard)", option labels)."""
    if q.type == "scale":
        label = q.labels.get(int(answer))
        return f"{answer} of {q.max}" + (f" ({label})" if label else "")
    if q.type == "choice":
        return q.option_label(str(answer))
    if q.type in ("multi", "list"):
        return "; ".join(q.option_label(str(a)) for a in answer) if q.type == "multi" else ", ".join(answer)
    return str(answer)


def score_answers(
    answers: Mapping[str, Any], *, codebook: Codebook | None = None, form: Questionnaire | None = None
) -> list[CodeEvidence]:
    """The codes that the answers reveal, each with its score and the answers quoted as evidence.

    A code's score is the strongest rule that fired; every firing answer is evidence (strongest
    first), followed by the free-text detail the entrepreneur gave for that question.
    """
    from simap.codebook import load

    form = form or questionnaire()
    book = codebook or load("social-innovation")
    norm = check_answers(answers, form=form)
    details = {q.detail_of: q for q in form.questions if q.detail_of and q.id in norm}
    hits: dict[str, list[tuple[float, Evidence]]] = {}
    for q in form.questions:
        if q.id not in norm:
            continue
        for rule in q.codes:
            if rule.code not in book.ids() or not _matches(q, rule, norm[q.id]):
                continue
            if rule.requires and not _required(rule, norm):
                continue
            label = answer_label(q, norm[q.id])
            detail = details.get(q.id)
            text = label + (f": {norm[detail.id]}" if detail is not None else "")
            ev = Evidence(
                source="answer",
                text=text,
                score=rule.strength,
                question_id=q.id,
                question=" ".join(q.prompt.split()),
                answer=label,
            )
            hits.setdefault(rule.code, []).append((rule.strength, ev))
    out: list[CodeEvidence] = []
    for code in book.active_codes:
        if code.id not in hits:
            continue
        items = sorted(hits[code.id], key=lambda h: -h[0])
        seen: set[str | None] = set()
        evidence = []
        for _s, ev in items:
            if ev.question_id not in seen:
                seen.add(ev.question_id)
                evidence.append(ev)
        score = items[0][0]
        out.append(
            CodeEvidence(
                code_id=code.id,
                kind=code.kind,
                name=code.name,
                score=score,
                present=score >= 0.5,
                sources=["answer"],
                evidence=evidence,
            )
        )
    return out


def context_answers(answers: Mapping[str, Any], form: Questionnaire | None = None) -> dict[str, Any]:
    """The context fields the answers give: name, countries, sectors, description."""
    form = form or questionnaire()
    norm = check_answers(answers, form=form)
    return {q.context: norm[q.id] for q in form.questions if q.context and q.id in norm}


def text_answers(answers: Mapping[str, Any], form: Questionnaire | None = None) -> dict[str, str]:
    """Free-text answers the zero-shot coder should read (question id -> text)."""
    form = form or questionnaire()
    norm = check_answers(answers, form=form)
    return {q.id: str(norm[q.id]) for q in form.questions if q.code_text and q.id in norm}


# -- template -------------------------------------------------------------------------------
def _hint(q: Question) -> str:
    if q.type == "yesno":
        return "yes or no"
    if q.type == "scale":
        labels = ", ".join(f"{k} = {v}" for k, v in sorted(q.labels.items()))
        return f"{q.min}-{q.max}" + (f": {labels}" if labels else "")
    if q.type == "choice":
        return "one of: " + ", ".join(o.id for o in q.options)
    if q.type == "multi":
        return "any of: " + ", ".join(o.id for o in q.options) + " (a list)"
    if q.type == "list":
        return "a list, e.g. [first, second]"
    return "free text"


def answers_template(form: Questionnaire | None = None) -> str:
    """A blank answers file (YAML with every question as a comment) to fill in."""
    form = form or questionnaire()
    lines = [
        f"# {form.title} ({form.name}, version {form.version}).",
        "# Fill in what you can; leave an answer empty to skip it. Then run:",
        "#   simap diagnose -p MAP.db --answers THIS_FILE",
        *(f"# {line}" for line in _wrap(" ".join(form.intro.split()), 94)),
        f"questionnaire: {form.name}",
        f"version: {form.version}",
        "answers:",
    ]
    for section in form.sections:
        lines.append(f"  # -- {section.title} " + "-" * max(0, 80 - len(section.title)))
        for q in section.questions:
            lines.extend(f"  # {line}" for line in _wrap(" ".join(q.prompt.split()), 90))
            if q.type in ("choice", "multi"):
                lines.extend(f"  #   {o.id}: {o.label}" for o in q.options)
            if q.help:
                lines.append(f"  #   ({' '.join(q.help.split())})")
            lines.append(f"  #   answer: {_hint(q)}")
            value = "[]" if q.type in ("multi", "list") else ""
            lines.append(f"  {q.id}: {value}".rstrip())
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def answers_json_schema() -> dict[str, Any]:
    """The questionnaire as plain JSON (for the web form)."""
    return json.loads(questionnaire().model_dump_json(by_alias=True))
