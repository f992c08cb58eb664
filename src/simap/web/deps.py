"""Request helpers shared by the pages and the API (parsing only; the work is in the library)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected
from simap.review import blind
from simap.review.actions import Span
from simap.store.accounts import Account
from simap.store.browse import Hidden, VentureFilter
from simap.store.db import Store


def store_of(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def hidden_of(request: Request, account: Account) -> Hidden:
    """What this account must not see (blind coding), computed once per request."""
    cached = getattr(request.state, "hidden", None)
    if cached is None:
        cached = blind.hidden_for(store_of(request), account.username)
        request.state.hidden = cached
    return cached  # type: ignore[no-any-return]


def _float(value: str | None, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value))
    except ValueError:
        raise InvalidInput(expected(name, "a number between 0 and 1", value), field=name) from None


def _int(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise InvalidInput(expected(name, "a whole number", value), field=name) from None


def venture_filter(params: dict[str, Any], codebook: Codebook) -> VentureFilter:
    """A VentureFilter from query parameters (q, code, kind, status, country, sector, coder,
    min_score, max_score, page, per_page)."""
    kind = str(params.get("kind") or "")
    kinds = sorted({c.kind for c in codebook.codes})
    if kind and kind not in kinds:
        raise InvalidInput(expected("kind", f"one of {kinds}", kind), field="kind")
    code = str(params.get("code") or "")
    if code and code not in {c.id for c in codebook.codes}:
        raise InvalidInput(expected("code", f"a code of {codebook.name!r}", code), field="code")
    return VentureFilter(
        q=str(params.get("q") or "").strip(),
        code=code,
        codes_of_kind=codebook.ids(kind) if kind else None,
        status=str(params.get("status") or ""),
        country=str(params.get("country") or ""),
        sector=str(params.get("sector") or ""),
        coder=str(params.get("coder") or ""),
        min_score=_float(params.get("min_score"), "min_score"),
        max_score=_float(params.get("max_score"), "max_score"),
        page=_int(params.get("page"), "page", 1),
        per_page=_int(params.get("per_page"), "per_page", 50),
    ).check()


def spans_from(field: str | None, start: str | int | None, end: str | int | None) -> list[Span]:
    """One evidence span from form fields (none when the three are empty)."""
    if not field and start in (None, "") and end in (None, ""):
        return []
    if not field:
        raise InvalidInput("evidence needs the text field it is in; got none.", field="field")
    return [Span(str(field), _int(str(start), "start", -1), _int(str(end), "end", -1))]
