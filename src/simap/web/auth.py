"""Log-in sessions, CSRF protection and role checks of the workbench.

* A session is a signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure over https) holding
  a random session id and the user id; nothing else is trusted from the browser.
* The CSRF token of a form is an HMAC of the session id; every state-changing request made with
  the cookie must send it (form field ``csrf_token`` or header ``X-CSRF-Token``). Requests with
  an API token (``Authorization: Bearer simap_...``) need no CSRF token.
* :func:`require` is the one place roles are checked; a denial raises ``PermissionDenied`` (403),
  a missing log-in ``LoginRequired`` (401), both rendered in the one error shape.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from simap.errors import PermissionDenied
from simap.store import accounts
from simap.store.accounts import Account

COOKIE = "simap_session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class LoginRequired(PermissionDenied):
    """No valid session or API token."""

    http_status = 401


class Sessions:
    def __init__(self, secret: str, *, max_age: int, secure: bool) -> None:
        self.secret = secret.encode("utf-8")
        self.max_age = max_age
        self.secure = secure
        self.serializer = URLSafeTimedSerializer(secret, salt="simap-session")

    def read(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(data),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure)

    def new(self, uid: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"sid": secrets.token_urlsafe(18)}
        if uid is not None:
            data["uid"] = uid
        return data

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self.secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str | None, token: str | None) -> bool:
        return bool(sid and token) and hmac.compare_digest(self.csrf_token(str(sid)), str(token))


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions  # type: ignore[no-any-return]


def session_of(request: Request) -> dict[str, Any]:
    cached = getattr(request.state, "session", None)
    if cached is None:
        cached = _sessions(request).read(request)
        request.state.session = cached
    return cached  # type: ignore[no-any-return]


def current_account(request: Request) -> Account | None:
    """The account of a request: from an API token, else from the session cookie."""
    if hasattr(request.state, "account"):
        return request.state.account  # type: ignore[no-any-return]
    store = request.app.state.store
    account: Account | None = None
    request.state.via_token = False
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        account = accounts.account_for_token(store, header[7:].strip())
        if account is None:
            raise LoginRequired("the API token is not valid (unknown, revoked, or its user was removed).")
        request.state.via_token = True
    else:
        uid = session_of(request).get("uid")
        if isinstance(uid, int):
            account = accounts.get_user_by_id(store, uid)
    request.state.account = account
    return account


async def check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS or getattr(request.state, "via_token", False):
        return
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if not _sessions(request).csrf_ok(session_of(request).get("sid"), token):
        raise PermissionDenied(
            "the form's security token is missing or out of date.", hint="reload the page and try again"
        )


def require(role: str) -> Callable[[Request], Awaitable[Account]]:
    """A dependency: the logged-in account, which must have at least ``role``; checks CSRF."""

    async def dependency(request: Request) -> Account:
        account = current_account(request)
        if account is None:
            raise LoginRequired("you need to log in.", hint="log in, or send an API token")
        if not account.can(role):
            raise PermissionDenied(
                f"this needs the {role} role; {account.username!r} is {account.role}.",
                hint="ask an admin of this project for access",
            )
        await check_csrf(request)
        return account

    dependency.__name__ = f"require_{role}"
    return dependency


def csrf_for(request: Request) -> str:
    """The CSRF token for forms on this request's page (creating a session id when needed)."""
    data = session_of(request)
    if "sid" not in data:
        data.update(_sessions(request).new())
        request.state.session_dirty = True
    return _sessions(request).csrf_token(data["sid"])
