"""HTTP hardening of the workbench: security headers on every response, and log-in throttling.

* :class:`SecurityHeaders` (ASGI middleware) sets on every response: a Content-Security-Policy
  (scripts only from the app itself plus the exact inline scripts of the page, by SHA-256; no
  framing, no plugins, forms only to the app), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, a Permissions-Policy,
  ``Cross-Origin-Opener-Policy``, ``Cache-Control: no-store`` on everything but ``/static``, and
  ``Strict-Transport-Security`` when served over https (``Settings.https`` or an https request,
  e.g. uvicorn ``--proxy-headers`` behind a TLS proxy), and then every cookie is Secure. Inline
  ``<script>`` blocks of HTML pages (the map report, the API docs) are allowed by their hash,
  computed from the response body, so an injected script never runs. Styles allow
  ``'unsafe-inline'`` (bar widths, the report's ``<style>``): CSS cannot run script.
* :class:`LoginThrottle` counts failed log-ins per user name and per client address. After
  ``max_user_failures`` wrong passwords in a row for one user name, that name is locked for
  ``lockout_seconds`` (even the right password gets HTTP 429 with ``Retry-After``); after
  ``max_ip_failures`` failures from one address within ``window_seconds`` the address is refused
  the same way. A successful log-in clears the user's count. Counts live in the process (each
  uvicorn worker keeps its own), so restarting the server lifts every lock.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import MutableHeaders

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HSTS = "max-age=31536000; includeSubDomains"
_SCRIPT = re.compile(rb"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SRC = re.compile(rb"\ssrc\s*=", re.IGNORECASE)
_TYPE = re.compile(rb"""\stype\s*=\s*["']?(?P<type>[^"'\s>]+)""", re.IGNORECASE)
_JS_TYPES = {b"", b"text/javascript", b"application/javascript", b"module", b"text/ecmascript"}


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP sources (``'sha256-...'``) of the inline scripts a browser would run in ``html``."""
    out: list[str] = []
    for m in _SCRIPT.finditer(html):
        attrs = m.group("attrs")
        if _SRC.search(attrs):
            continue
        kind = _TYPE.search(attrs)
        if kind is not None and kind.group("type").lower() not in _JS_TYPES:
            continue  # data blocks (application/json) never run
        digest = base64.b64encode(hashlib.sha256(m.group("body")).digest()).decode("ascii")
        source = f"'sha256-{digest}'"
        if source not in out:
            out.append(source)
    return out


def content_security_policy(script_hashes: list[str] | tuple[str, ...] = ()) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _secure_cookies(headers: MutableHeaders) -> None:
    """Over https every cookie gets the Secure flag (also when ``Settings.https`` was not set)."""
    raw = headers.raw
    for i, (name, value) in enumerate(raw):
        if name.lower() == b"set-cookie" and b"secure" not in value.lower():
            raw[i] = (name, value + b"; Secure")


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response (see the module doc)."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.https = https

    def _apply(self, headers: MutableHeaders, scripts: list[str], https: bool, path: str) -> None:
        headers.setdefault("Content-Security-Policy", content_security_policy(scripts))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not path.startswith("/static"):
            headers.setdefault("Cache-Control", "no-store")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
            _secure_cookies(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.https or scope.get("scheme") == "https"
        path = str(scope.get("path", ""))
        held: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                html = headers.get("content-type", "").startswith("text/html")
                if html and "attachment" not in headers.get("content-disposition", ""):
                    held = message  # wait for the body: its inline scripts go into the policy
                    return
                self._apply(headers, [], https, path)
                await send(message)
                return
            if held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                self._apply(MutableHeaders(scope=held), inline_script_hashes(body), https, path)
                await send(held)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, wrapped)


# -- log-in throttling -------------------------------------------------------------------------------
@dataclass
class _Count:
    failures: int = 0
    first: float = 0.0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed log-ins per user name and per client address (see the module doc)."""

    max_user_failures: int = 5
    max_ip_failures: int = 20
    window_seconds: float = 15 * 60
    lockout_seconds: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _counts: dict[tuple[str, str], _Count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, username: str, ip: str) -> list[tuple[str, str]]:
        return [("user", username.strip().lower()[:200]), ("ip", ip)]

    def wait(self, username: str, ip: str) -> int:
        """Seconds until a log-in of ``username`` from ``ip`` is accepted again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [
                c.locked_until - now
                for k in self._keys(username, ip)
                if (c := self._counts.get(k)) is not None and c.locked_until > now
            ]
        return int(max(waits) + 0.999) if waits else 0

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._counts) >= self.max_keys:
                self._prune(now)
            for key in self._keys(username, ip):
                c = self._counts.setdefault(key, _Count(first=now))
                if now - c.first > self.window_seconds and c.locked_until <= now:
                    c.failures, c.first = 0, now  # the window has passed: count afresh
                c.failures += 1
                limit = self.max_user_failures if key[0] == "user" else self.max_ip_failures
                if c.failures >= limit:
                    c.locked_until = now + self.lockout_seconds
                    c.failures, c.first = 0, now

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._counts.pop(self._keys(username, ip)[0], None)

    def _prune(self, now: float) -> None:
        stale = [
            k
            for k, c in self._counts.items()
            if c.locked_until <= now and now - c.first > self.window_seconds
        ]
        for k in stale:
            del self._counts[k]
        if len(self._counts) >= self.max_keys:  # still full: forget the oldest unlocked counts
            unlocked = sorted((c.first, k) for k, c in self._counts.items() if c.locked_until <= now)
            for _, k in unlocked[: len(unlocked) // 2 + 1]:
                del self._counts[k]


def client_ip(request: Any) -> str:
    client = getattr(request, "client", None)
    return str(client.host) if client is not None and client.host else "unknown"


def throttle_of(request: Any) -> LoginThrottle:
    throttle = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle  # type: ignore[no-any-return]


def login_wait(request: Any, username: str) -> int:
    """Seconds this log-in must wait (0: go ahead)."""
    return throttle_of(request).wait(username, client_ip(request))


def login_failed(request: Any, username: str) -> None:
    throttle_of(request).failed(username, client_ip(request))


def login_succeeded(request: Any, username: str) -> None:
    throttle_of(request).succeeded(username, client_ip(request))


def wait_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return (
        f"Too many failed log-ins: try again in {minutes} minute{'s' if minutes > 1 else ''} "
        "(or ask an admin to check your account)."
    )


def install(app: Any) -> None:
    """Add the headers middleware and the log-in throttle to ``app`` (called by ``create_app``)."""
    settings = app.state.settings
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(SecurityHeaders, https=bool(getattr(settings, "https", False)))
