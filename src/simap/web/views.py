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


def highlight(text: str, field: str, evidence: Iterable[tuple[str, dict[str, Any]]]) -> Markup:
    """``text`` as HTML with every evidence span of ``field`` wrapped in ``<mark data-codes="...">``.

    ``evidence`` is (code id, evidence item) pairs; overlapping spans of several codes become
    pieces marked with all their codes. The text content is unchanged (offsets stay valid).
    """
    spans: list[tuple[int, int, str]] = []
    for code, item in evidence:
        if item.get("field") != field:
            continue
        try:
            start, end = int(item["start"]), int(item["end"])
        except (KeyError, TypeError, ValueError):
            continue
        start, end = max(0, start), min(len(text), end)
        if start < end:
            spans.append((start, end, code))
    if not spans:
        return escape(text)
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    parts: list[str] = []
    for a, b in pairwise(cuts):
        piece = str(escape(text[a:b]))
        codes = sorted({c for s, e, c in spans if s <= a and b <= e})
        if codes:
            label = " ".join(codes)
            parts.append(
                f'<mark class="ev" data-codes="{escape(label)}" title="{escape(label)}">{piece}</mark>'
            )
        else:
            parts.append(piece)
    return Markup("".join(parts))


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
