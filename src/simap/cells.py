"""Spreadsheet cells that cannot run: the one guard against formula (CSV) injection.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (also after
leading spaces) is read by Excel, LibreOffice and Google Sheets as a formula, which can run
commands or leak data (``=HYPERLINK(...)``, ``=cmd|...``). Every CSV and XLSX that simap writes
passes its cells through :func:`safe_cell`, which puts a ``'`` in front of such text (OWASP's
advice). Numbers stay numbers, and text that is just a number (``-3``, ``+1.5``) is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def is_risky(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula."""
    if not text:
        return False
    if text.startswith(FORMULA_START):
        return not _NUMBER.match(text)
    stripped = text.lstrip(" ")
    return stripped != text and stripped.startswith(FORMULA_START) and not _NUMBER.match(stripped)


def safe_cell(value: Any) -> Any:
    """``value`` as a cell that cannot be a formula (non-text values are returned as they are)."""
    if isinstance(value, str) and is_risky(value):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: safe_cell(v) for k, v in row.items()}


def safe_values(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame with every text cell (and column name) made safe."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(safe_cell)
    out.columns = [safe_cell(c) for c in out.columns]
    return out


__all__ = ["FORMULA_START", "is_risky", "safe_cell", "safe_frame", "safe_row", "safe_values"]
