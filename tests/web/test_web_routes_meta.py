"""Meta-tests over every route of the app: who may call it, and that writes need the CSRF token.

``MIN_ROLE`` classifies every (method, path) the app serves. A route missing from it fails
``test_every_route_is_classified``: add it here with the lowest role that may use it ("anon"
only for the few pages one needs before logging in, listed in ``ANONYMOUS``). Entries for routes
the app does not serve are ignored.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from tests.web.conftest import PASSWORD

ROLES = ("viewer", "analyst", "admin")
ANONYMOUS = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("*", "/static"), ("*", "/setup")}
ANONYMOUS |= {("GET", "/setup"), ("POST", "/setup")}  # first-run page (only while a project has no user)
WRITES = ("POST", "PUT", "PATCH", "DELETE")

MIN_ROLE: dict[tuple[str, str], str] = {
    ("*", "/static"): "anon",
    ("GET", "/login"): "anon",
    ("POST", "/login"): "anon",
    ("GET", "/healthz"): "anon",
    ("POST", "/logout"): "viewer",
    # API
    ("GET", "/api/openapi.json"): "viewer",
    ("GET", "/api/me"): "viewer",
    ("GET", "/api/stats"): "viewer",
    ("GET", "/api/ventures"): "viewer",
    ("GET", "/api/ventures/{venture_id}"): "viewer",
    ("POST", "/api/ventures/{venture_id}/codes/{code_id}/accept"): "analyst",
    ("POST", "/api/ventures/{venture_id}/codes/{code_id}/reject"): "analyst",
    ("POST", "/api/ventures/{venture_id}/codes"): "analyst",
    ("PUT", "/api/ventures/{venture_id}/codes/{code_id}/evidence"): "analyst",
    ("GET", "/api/queue"): "viewer",
    ("GET", "/api/codebook"): "viewer",
    ("POST", "/api/codebook/preview"): "analyst",
    ("POST", "/api/codebook"): "analyst",
    ("POST", "/api/imports"): "analyst",
    ("GET", "/api/imports/{job_id}"): "viewer",
    ("GET", "/api/export/codes"): "viewer",
    ("GET", "/api/export/report"): "viewer",
    ("GET", "/api/export/project"): "viewer",
    ("GET", "/api/export/codebook"): "viewer",
    ("GET", "/api/coders"): "viewer",
    ("GET", "/api/agreement"): "viewer",
    ("GET", "/api/disagreements"): "viewer",
    ("GET", "/api/sets"): "viewer",
    ("POST", "/api/sets"): "admin",
    ("GET", "/api/events"): "viewer",
    ("GET", "/api/users"): "admin",
    ("POST", "/api/users"): "admin",
    ("DELETE", "/api/users/{username}"): "admin",
    ("POST", "/api/tokens"): "viewer",
    ("DELETE", "/api/tokens/{token_id}"): "viewer",
    ("GET", "/api/questionnaire"): "viewer",
    ("POST", "/api/diagnose"): "viewer",
    ("POST", "/api/portfolio"): "viewer",
    # pages
    ("GET", "/docs"): "viewer",
    ("GET", "/docs/assets/{name}"): "viewer",
    ("GET", "/"): "viewer",
    ("GET", "/map"): "viewer",
    ("GET", "/diagnose"): "viewer",
    ("POST", "/diagnose"): "viewer",
    ("GET", "/portfolio"): "viewer",
    ("POST", "/portfolio"): "viewer",
    ("GET", "/ventures"): "viewer",
    ("GET", "/ventures/{venture_id}"): "viewer",
    ("POST", "/ventures/{venture_id}/decide"): "analyst",
    ("GET", "/queue"): "viewer",
    ("GET", "/queue/next"): "viewer",
    ("GET", "/codebook"): "viewer",
    ("POST", "/codebook/preview"): "analyst",
    ("POST", "/codebook/save"): "analyst",
    ("GET", "/import"): "viewer",
    ("POST", "/import"): "analyst",
    ("GET", "/import/{job_id}"): "viewer",
    ("GET", "/export"): "viewer",
    ("GET", "/export/codes"): "viewer",
    ("GET", "/export/report"): "viewer",
    ("GET", "/export/project"): "viewer",
    ("GET", "/export/codebook"): "viewer",
    ("GET", "/agreement"): "viewer",
    ("GET", "/agreement/disagreements"): "viewer",
    ("POST", "/agreement/gold"): "analyst",
    ("GET", "/sets"): "viewer",
    ("POST", "/sets"): "admin",
    ("GET", "/users"): "admin",
    ("POST", "/users"): "admin",
    ("POST", "/users/{username}/role"): "admin",
    ("POST", "/users/{username}/remove"): "admin",
    ("GET", "/tokens"): "viewer",
    ("POST", "/tokens"): "viewer",
    ("POST", "/tokens/{token_id}/revoke"): "viewer",
    # first run, undo, codebook versions and re-coding, map progress, discovery (issue 12, 1/3/5/7)
    ("GET", "/setup"): "anon",
    ("POST", "/setup"): "anon",
    ("POST", "/api/undo"): "analyst",
    ("POST", "/ventures/{venture_id}/undo"): "analyst",
    ("GET", "/api/codebook/versions"): "viewer",
    ("GET", "/api/codebook/diff"): "viewer",
    ("POST", "/api/codebook/recode"): "analyst",
    ("GET", "/codebook/diff"): "viewer",
    ("POST", "/codebook/recode"): "analyst",
    ("GET", "/api/jobs/{job_id}"): "viewer",
    ("GET", "/jobs/{job_id}"): "viewer",
    ("GET", "/map/status"): "viewer",
    ("GET", "/discover"): "viewer",
    ("POST", "/discover/run"): "analyst",
    ("POST", "/discover/promote"): "analyst",
}
USER_OF = {"viewer": "vic", "analyst": "ana", "admin": "ada"}


def app_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, route) of every route, through included routers ("*" for mounts)."""
    try:
        from fastapi.routing import iter_route_contexts

        found = [(c.path, c.methods, c.original_route) for c in iter_route_contexts(app.routes)]
    except ImportError:  # FastAPI before routers were included lazily
        found = [(r.path, getattr(r, "methods", None), r) for r in app.routes]
    out = []
    for path, methods, route in found:
        for method in sorted(methods or {"*"}):
            if method != "HEAD":
                out.append((method, path, route))
    return out


def declared_role(route: Any) -> str:
    """The role of the route's ``require(...)`` dependency ("anon" when it has none)."""

    def walk(dependant: Any) -> list[str]:
        names = []
        for dep in dependant.dependencies:
            name = getattr(dep.call, "__name__", "")
            if name.startswith("require_"):
                names.append(name.removeprefix("require_"))
            names += walk(dep)
        return names

    if not isinstance(route, APIRoute):
        return "anon"
    roles = walk(route.dependant)
    return roles[0] if roles else "anon"


def url_of(path: str) -> str:
    """A concrete URL for a route path; path parameters name nothing that exists."""
    return re.sub(r"\{[^}]+\}", "999999", path)


def call(client: Any, method: str, path: str, *, csrf: str | None) -> Any:
    url = url_of(path) if path != "/static" else "/static/app.css"
    if method in ("GET", "*"):
        return client.http.get(url)
    headers = {"x-csrf-token": csrf} if csrf else {}
    data = {"csrf_token": csrf} if csrf else {}
    if path in ("/login", "/setup"):  # the forms checked in their handler: they need their fields
        data |= {"username": "ana", "password": PASSWORD, "password2": PASSWORD}
    return client.http.request(method, url, data=data or None, headers=headers)


def refused_login(r: Any) -> bool:
    return r.status_code == 401 or (r.status_code == 303 and r.headers["location"].startswith("/login"))


def test_every_route_is_classified(app) -> None:
    served = {(m, p) for m, p, _ in app_routes(app)}
    unknown = sorted(served - set(MIN_ROLE))
    assert not unknown, f"classify these routes in MIN_ROLE (tests/web/test_web_routes_meta.py): {unknown}"
    assert len(served & set(MIN_ROLE)) >= 60


def test_declared_roles_match_the_table(app) -> None:
    for method, path, route in app_routes(app):
        want = MIN_ROLE[(method, path)]
        assert declared_role(route) == want, (method, path)
        if want == "anon":
            assert (method, path) in ANONYMOUS, f"{method} {path} is open to anyone but not allow-listed"


def test_anonymous_requests_are_refused_everywhere(login, app) -> None:
    anon = login(None)
    checked = 0
    for method, path, _ in app_routes(app):
        if MIN_ROLE[(method, path)] == "anon":
            continue
        for csrf in (None, anon.csrf):
            r = call(anon, method, path, csrf=csrf)
            assert refused_login(r), (method, path, r.status_code)
            if path.startswith("/api"):
                assert r.status_code == 401 and r.json()["status"] == 401, (method, path)
        checked += 1
    assert checked >= 60


def test_roles_below_the_minimum_are_refused(login, app) -> None:
    clients = {role: login(user) for role, user in USER_OF.items()}
    for method, path, _ in app_routes(app):
        need = MIN_ROLE[(method, path)]
        if need == "anon":
            continue
        for role in ROLES[: ROLES.index(need)]:
            c = clients[role]
            r = call(c, method, path, csrf=c.csrf)
            assert r.status_code == 403, (method, path, role, r.status_code)
            assert "needs the" in r.text, (method, path, role)


def test_the_minimum_role_gets_through(login, app) -> None:
    """At its minimum role a route answers (a 400 or 404 for the made-up ids), never 401/403/5xx."""
    clients = {role: login(user) for role, user in USER_OF.items()}
    routes = sorted(app_routes(app), key=lambda r: r[1] == "/logout")  # log out last
    for method, path, _ in routes:
        need = MIN_ROLE[(method, path)]
        c = clients[need] if need != "anon" else login(None)
        r = call(c, method, path, csrf=c.csrf)
        assert r.status_code < 500, (method, path, r.status_code, r.text)
        if need == "anon":  # open pages may refuse for their own reasons (/setup once there are users)
            continue
        assert r.status_code not in (401, 403), (method, path, r.status_code, r.text)
        assert path == "/logout" or not refused_login(r), (method, path)


def test_every_write_needs_the_csrf_token(login, app) -> None:
    writes = [(m, p) for m, p, _ in app_routes(app) if m in WRITES]
    assert len(writes) >= 25
    for method, path in writes:
        ada = login("ada")  # a fresh session each time (logout must not end the others)
        for csrf in (None, "0" * 64):
            r = call(ada, method, path, csrf=csrf)
            assert r.status_code == 403, (method, path, csrf, r.status_code)
            assert "security token" in r.text or "form expired" in r.text, (method, path)


def test_a_token_of_another_session_is_refused(login) -> None:
    ana, ben = login("ana"), login("ben")
    r = ana.http.post(
        "/ventures/v1/decide", data={"code_id": "DATA", "action": "accept", "csrf_token": ben.csrf}
    )
    assert r.status_code == 403


@pytest.mark.parametrize("header", ["Bearer simap_nope", "Basic YWRhOmFkYQ=="])
def test_bad_authorization_headers_are_refused(app, header: str) -> None:
    from fastapi.testclient import TestClient

    http = TestClient(app, follow_redirects=False)
    r = http.get("/api/me", headers={"authorization": header})
    assert r.status_code == 401
