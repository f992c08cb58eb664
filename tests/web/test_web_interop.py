"""The workbench exchanges REFI-QDA files: download the project (.qdpx) and codebook (.qdc),
upload a .qdpx on the import page."""

from __future__ import annotations

import io
import zipfile

from simap.interop.common import schema_errors
from simap.interop.safety import parse_xml


def test_download_project_and_codebook(login) -> None:
    vic = login("vic")
    for url in ("/export/project", "/api/export/project"):
        r = vic.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            root = parse_xml(zf.read("project.qde"), source=url)
        assert schema_errors(root, "project") == []
    for url in ("/export/codebook", "/api/export/codebook"):
        r = vic.get(url)
        assert r.status_code == 200 and "xml" in r.headers["content-type"]
        assert schema_errors(parse_xml(r.content, source=url), "codebook") == []
    assert "Download the project (.qdpx)" in vic.get("/export").text


def test_upload_a_qdpx(login, app) -> None:
    vic = login("vic")
    qdpx = vic.get("/export/project").content
    ana = login("ana")
    r = ana.http.post(
        "/import", data={"csrf_token": ana.csrf}, files={"file": ("p.qdpx", qdpx, "application/zip")}
    )
    assert r.status_code == 303, r.text
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1])
    assert job.state == "done", job.error
    assert job.result["convention"].startswith("code points") and job.result["warnings"] == []
    assert job.result["sources"] >= 1 and job.result["created"] == 0  # the same ventures, by id
