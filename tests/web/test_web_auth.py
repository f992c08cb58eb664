"""Log-in, sessions, CSRF, roles, API tokens, and the one error shape of denials."""

from __future__ import annotations

import sqlalchemy as sa
from tests.web.conftest import PASSWORD, Client

from simap.store import accounts
from simap.store.schema import ApiToken, User


def test_pages_need_a_login(login) -> None:
    anon = login(None)
    r = anon.get("/ventures")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = anon.get("/api/ventures")
    assert r.status_code == 401
    assert r.json() == {"ok": False, "error": r.json()["error"], "errors": [], "status": 401}


def test_login_sets_a_secure_session_cookie(app) -> None:
    c = Client(app, None)
    r = c.http.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": c.csrf})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert c.get("/").status_code == 200


def test_cookie_is_secure_over_https(web_store, tmp_path) -> None:
    from simap.web.app import create_app
    from simap.web.settings import Settings

    app = create_app(Settings(project=web_store.url, secret_key="k", https=True), store=web_store)
    c = Client(app, None)
    r = c.http.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": c.csrf})
    assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_refused(login) -> None:
    c = login(None)
    r = c.http.post("/login", data={"username": "ana", "password": "nope-nope", "csrf_token": c.csrf})
    assert r.status_code == 403 and "wrong username or password" in r.text
    r = c.http.post("/login", data={"username": "nobody", "password": "nope-nope", "csrf_token": c.csrf})
    assert r.status_code == 403 and "wrong username or password" in r.text


def test_forms_need_the_csrf_token(login) -> None:
    ana = login("ana")
    r = ana.http.post("/ventures/v1/decide", data={"code_id": "DATA", "action": "accept"})
    assert r.status_code == 403 and "security token" in r.text
    r = ana.http.post(
        "/ventures/v1/decide", data={"code_id": "DATA", "action": "accept", "csrf_token": "0" * 64}
    )
    assert r.status_code == 403
    assert ana.post("/ventures/v1/decide", {"code_id": "DATA", "action": "accept"}).status_code == 303
    # a login form without its token is refused too
    anon = login(None)
    r = anon.http.post("/login", data={"username": "ana", "password": PASSWORD})
    assert r.status_code == 403


def test_viewer_can_read_but_never_change_data(login) -> None:
    vic = login("vic")
    assert vic.get("/ventures/v1").status_code == 200
    assert "Accept" not in vic.get("/ventures/v1").text  # no review buttons for viewers
    for url, data in [
        ("/ventures/v1/decide", {"code_id": "DATA", "action": "accept"}),
        ("/codebook/save", {"ops": "[]"}),
        ("/sets", {"name": "s", "coder_a": "ana", "coder_b": "ben"}),
        ("/users", {"username": "eve", "password": PASSWORD, "role": "admin"}),
    ]:
        r = vic.post(url, data)
        assert r.status_code == 403, url
        assert "needs the" in r.text
    r = vic.http.post("/api/ventures/v1/codes/DATA/accept", headers={"x-csrf-token": vic.csrf}, json={})
    assert r.status_code == 403
    body = r.json()
    assert set(body) == {"ok", "error", "errors", "status"} and body["status"] == 403 and not body["ok"]
    assert "analyst role" in body["error"] and "'vic' is viewer" in body["error"]


def test_analyst_cannot_manage_users(login) -> None:
    ana = login("ana")
    assert ana.get("/users").status_code == 403
    assert ana.post("/users", {"username": "eve", "password": PASSWORD, "role": "admin"}).status_code == 403
    assert ana.post("/users/vic/remove").status_code == 403
    r = ana.http.get("/api/users")
    assert r.status_code == 403 and r.json()["status"] == 403


def test_admin_manages_users(login, web_store) -> None:
    ada = login("ada")
    assert ada.post("/users", {"username": "eve", "password": PASSWORD, "role": "viewer"}).status_code == 303
    assert ada.post("/users/eve/role", {"role": "analyst"}).status_code == 303
    assert accounts.get_user(web_store, "eve").role == "analyst"
    assert ada.post("/users/eve/remove").status_code == 303
    assert not accounts.get_user(web_store, "eve").active
    eve = login(None)
    r = eve.http.post("/login", data={"username": "eve", "password": PASSWORD, "csrf_token": eve.csrf})
    assert r.status_code == 403
    r = ada.post("/users", {"username": "x", "password": "short", "role": "viewer"})
    assert r.status_code == 400


def test_removed_user_loses_an_open_session(login) -> None:
    ben = login("ben")
    assert ben.get("/").status_code == 200
    login("ada").post("/users/ben/remove")
    assert ben.get("/").status_code == 303


def test_api_tokens(login, web_store) -> None:
    ana = login("ana")
    r = ana.http.post("/api/tokens", json={"name": "script"}, headers={"x-csrf-token": ana.csrf})
    assert r.status_code == 201
    token = r.json()["token"]
    with web_store.engine.connect() as conn:
        stored = conn.execute(sa.select(ApiToken.token_hash)).scalars().all()
    assert token not in stored and all(len(h) == 64 for h in stored)  # only the hash is kept
    script = Client.__new__(Client)
    from fastapi.testclient import TestClient

    script.http = TestClient(ana.http.app)
    auth = {"authorization": f"Bearer {token}"}
    assert script.http.get("/api/me", headers=auth).json()["username"] == "ana"
    r = script.http.post("/api/ventures/v1/codes/DATA/accept", headers=auth, json={"memo": "script"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert ana.http.get("/api/me").json()["username"] == "ana"  # the session still works
    tid = accounts.list_tokens(web_store, "ana")[0].id
    assert ana.post(f"/tokens/{tid}/revoke").status_code == 303
    r = script.http.get("/api/me", headers=auth)
    assert r.status_code == 401 and "not valid" in r.json()["error"]
    assert script.http.get("/api/me", headers={"authorization": "Bearer simap_wrong"}).status_code == 401


def test_viewer_token_cannot_write(login, web_store) -> None:
    token, _ = accounts.create_token(web_store, "vic", "read", actor="vic")
    from fastapi.testclient import TestClient

    http = TestClient(login(None).http.app)
    auth = {"authorization": f"Bearer {token}"}
    assert http.get("/api/ventures", headers=auth).status_code == 200
    r = http.post("/api/ventures/v1/codes/DATA/reject", headers=auth, json={})
    assert r.status_code == 403 and r.json()["status"] == 403


def test_passwords_are_argon2_hashes(web_store) -> None:
    with web_store.engine.connect() as conn:
        hashes = conn.execute(sa.select(User.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
