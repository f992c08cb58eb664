"""Undo of the last decision through the JSON API (issue 12, item 3)."""

from __future__ import annotations


def test_undo_through_the_api(app, login) -> None:
    ana = login("ana")
    headers = {"X-CSRF-Token": ana.csrf}
    assert ana.http.post("/api/ventures/v1/codes/DATA/accept", headers=headers).status_code == 200
    r = ana.http.post("/api/undo", params={"venture_id": "v1"}, headers=headers)
    assert r.status_code == 200 and r.json()["code_id"] == "DATA"
    assert ana.http.post("/api/undo", headers=headers).status_code == 400
