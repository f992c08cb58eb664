"""Security headers, cookies, log-in throttling and lockout, and the API docs behind the log-in."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Client
from tests.web.test_web_browser import browser, server  # noqa: F401  (fixtures)

from simap.web import security
from simap.web.security import LoginThrottle, content_security_policy, inline_script_hashes

PAGES = ["/login", "/", "/ventures", "/ventures/v1", "/queue", "/codebook", "/export", "/docs", "/map"]


def _csp(headers) -> dict[str, str]:
    out = {}
    for part in headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def test_every_page_has_the_security_headers(login) -> None:
    ada = login("ada")
    for url in [*PAGES, "/api/me", "/static/app.css", "/nowhere"]:
        r = ada.get(url)
        assert r.status_code < 500, url
        h = r.headers
        csp = _csp(h)
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'", url
        assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], url
        assert h["x-frame-options"] == "DENY", url
        assert h["x-content-type-options"] == "nosniff", url
        assert h["referrer-policy"] == "same-origin", url
        assert "strict-transport-security" not in h, url  # plain http: no HSTS
        if not url.startswith("/static"):
            assert h["cache-control"] == "no-store", url
    anon = login(None)
    assert "content-security-policy" in anon.get("/").headers  # the redirect to the log-in too


def test_hsts_and_secure_cookie_behind_https(web_store) -> None:
    from simap.web.app import create_app
    from simap.web.settings import Settings

    app = create_app(Settings(project=web_store.url, secret_key="k", https=True), store=web_store)
    c = Client(app, None)
    r = c.http.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": c.csrf})
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    cookie = r.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_hsts_and_secure_cookie_when_the_request_is_https(app) -> None:
    """Behind a TLS proxy (uvicorn --proxy-headers) without --https: still HSTS and Secure."""
    http = TestClient(app, base_url="https://simap.example", follow_redirects=False)
    r = http.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "; secure" in r.headers["set-cookie"].lower()
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', r.text).group(1)
    r = http.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["set-cookie"].lower().count("secure") == 1


def test_inline_scripts_are_allowed_by_hash_only() -> None:
    html = (
        b'<script src="/static/app.js"></script><script>alert(1)</script>'
        b'<script type="application/json">{"a": 1}</script><SCRIPT type="module">x()</SCRIPT>'
    )
    hashes = inline_script_hashes(html)
    assert len(hashes) == 2 and all(h.startswith("'sha256-") for h in hashes)
    assert hashes[0] == "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"  # sha256 of alert(1)
    assert "script-src 'self' " + " ".join(hashes) in content_security_policy(hashes)


def test_the_map_report_scripts_run_under_the_policy(login) -> None:
    import time

    ana = login("ana")
    deadline = time.monotonic() + 60
    while True:  # the map may answer with a progress page while it is built
        r = ana.get("/map")
        assert r.status_code == 200
        expected = inline_script_hashes(r.content)
        if expected or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert expected, "the map report has its inline script"
    assert _csp(r.headers)["script-src"].split()[1:] == expected


def test_templates_have_no_inline_handlers_or_scripts() -> None:
    """Inline event handlers and javascript: links would be blocked by the policy."""
    root = resources.files("simap.web") / "templates"
    for item in root.iterdir():
        if not item.name.endswith(".html"):
            continue
        text = item.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), item.name
        assert "javascript:" not in text, item.name
        for m in re.finditer(r"<script([^>]*)>", text):
            assert "src=" in m.group(1), f"inline <script> in {item.name}"


# -- log-in throttling --------------------------------------------------------------------------------
def _try(c: Client, username: str, password: str):
    return c.http.post("/login", data={"username": username, "password": password, "csrf_token": c.csrf})


def test_wrong_passwords_in_a_row_get_429_then_lockout(login) -> None:
    c = login(None)
    statuses = [_try(c, "ana", f"wrong password {i}").status_code for i in range(15)]
    assert 429 in statuses, statuses
    first = statuses.index(429)
    assert first <= 5 and all(s == 403 for s in statuses[:first]) and set(statuses[first:]) == {429}
    r = _try(c, "ana", PASSWORD)  # locked: even the right password waits
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many failed log-ins" in r.text
    assert _try(c, "ben", PASSWORD).status_code == 303  # another user is not locked out


def test_lockout_lifts_after_the_wait_and_success_resets(app) -> None:
    now = [1000.0]
    app.state.login_throttle = LoginThrottle(clock=lambda: now[0])
    c = Client(app, None)
    for _ in range(4):
        assert _try(c, "ana", "wrong password!").status_code == 403
    assert _try(c, "ana", PASSWORD).status_code == 303  # success clears the count
    c = Client(app, None)
    for _ in range(4):
        assert _try(c, "ana", "wrong password!").status_code == 403
    assert _try(c, "ana", "wrong password!").status_code == 403  # the 5th locks
    assert _try(c, "ana", PASSWORD).status_code == 429
    now[0] += 15 * 60 + 1
    assert _try(c, "ana", PASSWORD).status_code == 303


def test_many_user_names_from_one_address_are_throttled(app) -> None:
    c = Client(app, None)
    statuses = [_try(c, f"user{i}", "wrong password!").status_code for i in range(25)]
    assert statuses[:19] == [403] * 19 and statuses[-1] == 429


def test_throttle_memory_is_bounded() -> None:
    t = LoginThrottle(max_keys=100)
    for i in range(1000):
        t.failed(f"u{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(t._counts) <= 100


def test_wait_message() -> None:
    assert "1 minute " in security.wait_message(30) and "15 minutes" in security.wait_message(900)


# -- API docs ----------------------------------------------------------------------------------------
def test_openapi_and_docs_need_a_login(login) -> None:
    anon = login(None)
    assert anon.get("/api/openapi.json").status_code == 401
    assert anon.get("/docs").status_code == 303
    assert anon.get("/docs/assets/swagger-ui-bundle.js").status_code == 303
    vic = login("vic")
    schema = vic.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.") and "/api/ventures" in schema["paths"]
    assert "bearerAuth" in schema["components"]["securitySchemes"]
    for methods in schema["paths"].values():
        for op in methods.values():
            assert "422" not in op["responses"] and "401" in op["responses"]
    page = vic.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text  # offline
    csp = _csp(page.headers)
    assert csp["script-src"].split()[1:] == inline_script_hashes(page.content)
    assert vic.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert vic.get("/docs/assets/secret.txt").status_code == 404


@pytest.mark.parametrize("url", ["/docs/assets/../../app.py", "/docs/assets/%2e%2e%2fapp.py"])
def test_docs_assets_cannot_escape(login, url: str) -> None:
    assert login("vic").get(url).status_code == 404


# -- in a real browser --------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_pages_work_under_the_policy_in_chromium(server, browser) -> None:  # noqa: F811
    """No CSP violation on the main pages, the map report's scripts run, Swagger UI renders."""
    from tests.web.test_web_browser import log_in

    page = log_in(browser, server, "ada")
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    for url in ("/", "/ventures", "/ventures/v1", "/users", "/codebook", "/map"):
        page.goto(server + url)
        page.wait_for_load_state("load")
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "simap workbench API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    violations = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
    assert not violations, violations
