"""Reading a founder's own words: third-person normalisation (``voice.yaml``) and founder-voice
example sentences (``founder_voice.yaml``).

``third_person("We train our students")`` gives ``"the organisation train its students"``: the
pronouns, contractions and hedges of spoken, first-person text are rewritten so that a sentence
reads like the codebook's impersonal phrasing. Grammar is not repaired (the coder reads meaning,
not agreement). :class:`simap.advise.diagnose.Advisor` scores every sentence of a free text in both
voices and keeps the better reading per code; evidence always quotes the original sentence.

``with_founder_examples(codebook)`` returns a copy of the codebook with first-person example
sentences added to its codes and neutral founder talk added as negatives; the diagnosis fits its
text coder on it. The codebook itself (and the map's coder) is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput


@dataclass(frozen=True)
class Voice:
    """Ordered (pattern, replacement) rules; see ``voice.yaml``."""

    rules: tuple[tuple[re.Pattern[str], str], ...]
    negations: tuple[tuple[str, str], ...]

    def apply(self, text: str) -> str:
        out = text
        neg = dict(self.negations)
        for pattern, repl in self.rules:
            if repl == "{negation}":
                out = pattern.sub(lambda m: neg.get(m.group(0), m.group(0)), out)
            else:
                out = pattern.sub(repl, out)
        out = re.sub(r"\s{2,}", " ", out).strip()
        return out[:1].upper() + out[1:] if out else out


def load_voice(data: dict | None = None) -> Voice:
    """The voice rules of ``data`` (a parsed ``voice.yaml``; default: the built-in file)."""
    if data is None:
        data = yaml.safe_load(resources.files("simap.advise").joinpath("voice.yaml").read_text("utf-8"))
    subject = str(data.get("subject") or "the organisation")
    rules = []
    for i, rule in enumerate(data.get("rules") or []):
        try:
            pattern = re.compile(str(rule["pattern"]))
        except (KeyError, re.error) as exc:
            raise InvalidInput(
                f"voice rule {i} is not a valid regular expression ({exc}).",
                field=f"rules.{i}.pattern",
                hint="each rule needs `pattern` (a Python regex) and `replace`",
            ) from exc
        repl = str(rule.get("replace") or "")
        rules.append((pattern, repl if repl == "{negation}" else repl.replace("{subject}", subject)))
    negations = tuple((str(k), str(v)) for k, v in (data.get("negations") or {}).items())
    return Voice(rules=tuple(rules), negations=negations)


@lru_cache(maxsize=1)
def default_voice() -> Voice:
    return load_voice()


def third_person(text: str, voice: Voice | None = None) -> str:
    """``text`` with first-person pronouns, contractions and hedges rewritten (see ``voice.yaml``)."""
    return (voice or default_voice()).apply(text)


@lru_cache(maxsize=1)
def founder_voice() -> dict:
    """The parsed built-in ``founder_voice.yaml``."""
    text = resources.files("simap.advise").joinpath("founder_voice.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text) or {})


def with_founder_examples(book: Codebook, data: dict | None = None) -> Codebook:
    """``book`` with the founder-voice sentences of ``data`` (default: ``founder_voice.yaml``).

    Each code gets its first-person examples as extra positives; the neutral sentences become
    counter examples (negatives for every code; stored once, on the first active code). A
    codebook other than the one the file names is returned as it is.
    """
    data = founder_voice() if data is None else data
    if data.get("codebook") != book.name:
        return book
    examples = {str(k): [str(s) for s in v or []] for k, v in (data.get("examples") or {}).items()}
    neutral = [str(s) for s in data.get("neutral") or []]
    first = book.active_codes[0].id if book.active_codes else None
    codes = []
    for code in book.codes:
        update: dict = {}
        if examples.get(code.id):
            update["examples"] = [*code.examples, *examples[code.id]]
        if code.id == first and neutral:
            update["counter_examples"] = [*code.counter_examples, *neutral]
        codes.append(code.model_copy(update=update) if update else code)
    return book.model_copy(update={"codes": codes})
