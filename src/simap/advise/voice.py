"""First-person to third-person normalisation of a founder's own words (``voice.yaml``).

``third_person("We train our students")`` gives ``"the organisation train its students"``: the
pronouns, contractions and hedges of spoken, first-person text are rewritten so that a sentence
reads like the codebook's impersonal phrasing. Grammar is not repaired (the coder reads meaning,
not agreement). :class:`simap.advise.diagnose.Advisor` scores every sentence of a free text in both
voices and keeps the better reading per code; evidence always quotes the original sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

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
