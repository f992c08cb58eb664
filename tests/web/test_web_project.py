"""Codebook editor, import jobs, export, the error shape and the OpenAPI description."""

from __future__ import annotations

import json

from simap.store import browse, repo


def test_codebook_edit_preview_then_save(login, web_store) -> None:
    ana = login("ana")
    r = ana.post("/codebook/preview", {"op": "retire", "code_id": "OPEN"})
    assert r.status_code == 200 and "What changes in the map" in r.text
    assert "retired: leaves the map" in r.text
    assert browse.get_setting(web_store, "codebook") is None  # a preview saves nothing
    ops = json.dumps([{"op": "retire", "code_id": "OPEN"}])
    assert ana.post("/codebook/save", {"ops": ops}).status_code == 303
    version = browse.get_setting(web_store, "codebook")["version"]
    book = repo.load_codebook_version(web_store, version)
    assert book.ids() == ["DATA"] and book.code("OPEN").retired
    ev = repo.load_events(web_store)
    edit = ev[ev["action"] == "codebook_edited"].iloc[0]
    assert (
        edit["actor"] == "ana"
        and edit["after"]["version"] == version
        and edit["before"]["codes"] == ["DATA", "OPEN"]
    )
    assert "DATA" in ana.get("/codebook").text and ana.get("/api/codebook").json()["version"] == version


def test_codebook_api_add_rename_merge(login, web_store) -> None:
    ana = login("ana")
    h = {"x-csrf-token": ana.csrf}
    new_code = {"id": "MOB", "kind": "barrier", "name": "Mobile", "definition": "Works on mobile phones."}
    r = ana.http.post("/api/codebook/preview", json={"ops": [{"op": "add", "code": new_code}]}, headers=h)
    changes = {c["code_id"]: c for c in r.json()["changes"]}
    assert changes["MOB"]["after"] == 0 and "re-coded" in changes["MOB"]["note"]
    assert changes["DATA"]["before"] == changes["DATA"]["after"] == 2
    ops = [
        {"op": "add", "code": new_code},
        {"op": "rename", "code_id": "DATA", "name": "Field data"},
        {"op": "merge", "code_id": "OPEN", "into": "MOB"},
    ]
    r = ana.http.post("/api/codebook", json={"ops": ops}, headers=h)
    assert r.status_code == 200 and r.json()["codes"] == ["DATA", "MOB"]
    book = repo.load_codebook_version(web_store, r.json()["version"])
    assert (
        book.code("DATA").name == "Field data"
        and "A wiki written by volunteers." in book.code("MOB").examples
    )
    r = ana.http.post(
        "/api/codebook", json={"ops": [{"op": "merge", "code_id": "DATA", "into": "DATA"}]}, headers=h
    )
    assert r.status_code == 400
    r = ana.http.post("/api/codebook", json={"ops": [{"op": "explode"}]}, headers=h)
    assert r.status_code == 400 and "op must be one of" in r.json()["error"]


def test_import_upload_runs_in_the_background(login, app, web_store) -> None:
    ana = login("ana")
    lines = [
        {"id": "n1", "name": "New One", "description": "We collect survey data in villages."},
        {"id": "n2", "name": "New Two", "description": "An openly licensed wiki."},
    ]
    payload = "\n".join(json.dumps(x) for x in lines).encode()
    r = ana.http.post(
        "/import", data={"csrf_token": ana.csrf}, files={"file": ("new.jsonl", payload, "application/json")}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/import/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = app.state.jobs.wait(job_id)
    assert job.state == "done" and job.result["created"] == 2
    assert ana.get(f"/api/imports/{job_id}").json()["state"] == "done"
    assert "New One" in ana.get(f"/import/{job_id}").text or job.filename in ana.get(f"/import/{job_id}").text
    assert browse.project_counts(web_store)["ventures"] == 6
    ev = repo.load_events(web_store)
    assert ((ev["action"] == "import") & (ev["actor"] == "ana")).any()


def test_import_failure_is_reported(login, app) -> None:
    ana = login("ana")
    r = ana.http.post(
        "/import", data={"csrf_token": ana.csrf}, files={"file": ("bad.jsonl", b"{not json", "text/plain")}
    )
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1])
    assert job.state == "failed" and job.error
    r = ana.http.post(
        "/import", data={"csrf_token": ana.csrf}, files={"file": ("x.exe", b"MZ", "application/octet-stream")}
    )
    assert r.status_code == 400 and "the file must be one of" in r.text


def test_viewer_cannot_import(login) -> None:
    vic = login("vic")
    r = vic.http.post(
        "/import", data={"csrf_token": vic.csrf}, files={"file": ("a.jsonl", b"{}", "text/plain")}
    )
    assert r.status_code == 403


def test_export_codes_and_report(login) -> None:
    vic = login("vic")
    r = vic.get("/export/codes?fmt=csv")
    assert r.status_code == 200 and "text/csv" in r.headers["content-type"]
    assert "v1" in r.text and "DATA" in r.text
    r = vic.get("/api/export/codes")
    assert r.status_code == 200 and json.loads(r.text.splitlines()[0])
    r = vic.get("/export/report")
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert vic.get("/export/codes?fmt=xml").status_code == 400


def test_error_shape_is_one(login) -> None:
    ana = login("ana")
    for r, status in [
        (ana.get("/api/ventures/zzz"), 404),
        (ana.get("/api/ventures?page=x"), 400),
        (ana.get("/api/nothing-here"), 404),
        (ana.get("/api/users"), 403),
    ]:
        assert r.status_code == status
        body = r.json()
        assert set(body) == {"ok", "error", "errors", "status"}, body
        assert body["ok"] is False and body["status"] == status and body["error"]


def test_openapi_lists_the_api_only(login) -> None:
    spec = login("vic").get("/api/openapi.json").json()
    paths = set(spec["paths"])
    assert "/api/ventures/{venture_id}/codes/{code_id}/accept" in paths and "/api/agreement" in paths
    assert all(p.startswith("/api/") for p in paths)
