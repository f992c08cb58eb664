"""Formatting for the pages: evidence highlighting and template filters (no business rules)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

KIND_CLASS = {"design_principle": "dp", "barrier": "b", "challenge": "c"}


def _span(item: Any, size: int) -> tuple[int, int] | None:
    try:
        start, end = int(item["start"]), int(item["end"])
    except (KeyError, TypeError, ValueError):
        return None
    start, end = max(0, start), min(size, end)
    return (start, end) if start < end else None


def phrase_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """The best phrase inside an evidence sentence ({start, end, text}, document offsets), if any."""
    phrase = item.get("phrase")
    if not isinstance(phrase, dict) or _span(phrase, 10**9) is None:
        return None
    start, end = int(item.get("start", 0)), int(item.get("end", 0))
    if not start <= int(phrase["start"]) < int(phrase["end"]) <= end:
        return None
    return phrase


def highlight(text: str, field: str, evidence: Iterable[tuple[str, dict[str, Any]]]) -> Markup:
    """``text`` as HTML with every evidence span of ``field`` wrapped in ``<mark data-codes="...">``;
    the best phrase of a sentence (``item["phrase"]``) is marked inside it with class ``ph`` and
    ``data-phrase="CODES"``.

    ``evidence`` is (code id, evidence item) pairs; overlapping spans of several codes become
    pieces marked with all their codes. The text content is unchanged (offsets stay valid).
    """
    spans: list[tuple[int, int, str]] = []
    phrases: list[tuple[int, int, str]] = []
    for code, item in evidence:
        if item.get("field") != field:
            continue
        span = _span(item, len(text))
        if span is None:
            continue
        spans.append((*span, code))
        phrase = phrase_of(item)
        inner = _span(phrase, len(text)) if phrase else None
        if inner is not None:
            phrases.append((*inner, code))
    if not spans:
        return escape(text)
    bounds = [*spans, *phrases]
    cuts = sorted({0, len(text), *(s for s, _, _ in bounds), *(e for _, e, _ in bounds)})
    parts: list[str] = []
    for a, b in pairwise(cuts):
        piece = str(escape(text[a:b]))
        codes = sorted({c for s, e, c in spans if s <= a and b <= e})
        if codes:
            label = " ".join(codes)
            in_phrase = sorted({c for s, e, c in phrases if s <= a and b <= e})
            extra = f' data-phrase="{escape(" ".join(in_phrase))}"' if in_phrase else ""
            cls = "ev ph" if in_phrase else "ev"
            attrs = f'class="{cls}" data-codes="{escape(label)}"{extra} title="{escape(label)}"'
            parts.append(f"<mark {attrs}>{piece}</mark>")
        else:
            parts.append(piece)
    return Markup("".join(parts))


def quote(item: dict[str, Any]) -> Markup:
    """An evidence sentence as HTML with its best phrase in ``<b class="phrase">``."""
    text = str(item.get("text") or "")
    phrase = phrase_of(item)
    if phrase is None:
        return escape(text)
    a = int(phrase["start"]) - int(item.get("start", 0))
    b = int(phrase["end"]) - int(item.get("start", 0))
    if not 0 <= a < b <= len(text):
        return escape(text)
    return Markup(f'{escape(text[:a])}<b class="phrase">{escape(text[a:b])}</b>{escape(text[b:])}')


def fmt_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)[:16].replace("T", " ")


def fmt_num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_json(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) < 300 else text[:297] + "..."


def install(env: Environment) -> None:
    env.filters["ts"] = fmt_time
    env.filters["num"] = fmt_num
    env.filters["compact"] = fmt_json
    env.filters["kindclass"] = lambda kind: KIND_CLASS.get(str(kind), "o")
    env.globals["highlight"] = highlight
    env.filters["quote"] = quote
