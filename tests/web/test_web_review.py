"""Review on the venture page and through the API: every decision is attributable."""

from __future__ import annotations

from simap.store import browse, repo


def test_venture_page_highlights_evidence_and_has_shortcuts(login) -> None:
    r = login("ana").get("/ventures/v1")
    assert r.status_code == 200
    html = r.text
    assert '<mark class="ev" data-codes="DATA"' in html
    assert "Health workers collect survey data on mobile phones.</mark>" in html
    assert 'src="/static/app.js"' in html and "http" not in html.split("<body")[0].replace("http-equiv", "")
    js = login("ana").get("/static/app.js").text
    for key in ('case "a"', 'case "r"', 'case "j"', 'case "k"'):
        assert key in js


def test_accept_reject_and_history(login, web_store) -> None:
    ana = login("ana")
    assert (
        ana.post("/ventures/v1/decide", {"code_id": "DATA", "action": "accept", "memo": "clear"}).status_code
        == 303
    )
    assert ana.post("/ventures/v1/decide", {"code_id": "DATA", "action": "reject"}).status_code == 303
    ev = repo.load_events(web_store, entity_id="v1:DATA")
    assert ev["action"].tolist()[:2] == ["code_rejected", "code_accepted"]
    assert ev.iloc[0]["actor"] == "ana" and ev.iloc[0]["before"]["status"] == "accepted"
    assert ev.iloc[0]["after"]["memo"] == "clear"  # the memo stays when none is given
    page = ana.get("/ventures/v1").text
    assert "code rejected" in page and "code accepted" in page and "you rejected" in page


def test_add_code_with_evidence_and_edit_span(login, web_store) -> None:
    ana = login("ana")
    text = "Health workers collect survey data on mobile phones. The app works offline."
    start = text.index("The app")
    r = ana.post(
        "/ventures/v1/decide",
        {
            "code_id": "OPEN",
            "action": "add",
            "memo": "offline",
            "field": "description",
            "start": start,
            "end": len(text),
        },
    )
    assert r.status_code == 303
    rows = browse.venture_assignments(web_store, ["v1"])
    mine = rows[(rows["coder"] == "ana") & (rows["code_id"] == "OPEN")].iloc[0]
    assert mine["status"] == "accepted" and mine["memo"] == "offline"
    assert mine["evidence"] == [
        {"field": "description", "start": start, "end": len(text), "text": text[start:]}
    ]
    r = ana.post(
        "/ventures/v1/decide",
        {"code_id": "OPEN", "action": "span", "field": "description", "start": 0, "end": 14},
    )
    assert r.status_code == 303
    ev = repo.load_events(web_store, entity_id="v1:OPEN").iloc[0]
    assert (
        ev["before"]["evidence"][0]["start"] == start
        and ev["after"]["evidence"][0]["text"] == "Health workers"
    )
    # a span outside the text is a clear 400
    r = ana.post(
        "/ventures/v1/decide",
        {"code_id": "OPEN", "action": "span", "field": "description", "start": 5, "end": 9999},
    )
    assert r.status_code == 400 and "evidence span" in r.text


def test_unknown_code_and_venture(login) -> None:
    ana = login("ana")
    r = ana.http.post("/api/ventures/v1/codes/NOPE/accept", json={}, headers={"x-csrf-token": ana.csrf})
    assert r.status_code == 400 and "use one of DATA, OPEN" in r.json()["error"]
    r = ana.http.post("/api/ventures/zzz/codes/DATA/accept", json={}, headers={"x-csrf-token": ana.csrf})
    assert r.status_code == 404 and r.json()["status"] == 404
    assert ana.get("/ventures/zzz").status_code == 404


def test_api_decisions(login, web_store) -> None:
    ana = login("ana")
    h = {"x-csrf-token": ana.csrf}
    r = ana.http.post(
        "/api/ventures/v2/codes",
        json={"code_id": "DATA", "memo": "m", "evidence": [{"field": "description", "start": 0, "end": 8}]},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["evidence"][0]["text"] == "Openly l"
    r = ana.http.put(
        "/api/ventures/v2/codes/DATA/evidence",
        json={"evidence": [{"field": "description", "start": 0, "end": 6}]},
        headers=h,
    )
    assert r.json()["evidence"][0]["text"] == "Openly"
    r = ana.http.post("/api/ventures/v2/codes/OPEN/accept", headers=h)
    assert r.json()["evidence"][0]["text"].startswith("Openly licensed")  # the machine's evidence
    body = ana.get("/api/ventures/v2").json()
    codes = {c["code_id"]: c for c in body["codes"]}
    assert codes["OPEN"]["mine"] == "accepted" and codes["DATA"]["my_memo"] == "m"
    assert any(e["action"] == "code_accepted" for e in body["events"])
    # without the CSRF header a cookie-authenticated API write is refused
    assert ana.http.post("/api/ventures/v2/codes/OPEN/reject").status_code == 403


def test_venture_list_search_and_filters(login) -> None:
    ana = login("ana")

    def ids(query: str) -> list[str]:
        return [v["id"] for v in ana.get(f"/api/ventures?{query}").json()["ventures"]]

    assert ids("") == ["v1", "v2", "v3", "v4"]  # by name
    assert ids("q=survey") == ["v1"]
    assert ids("q=wiki%20clinics") == ["v4"]
    assert ids("country=Kenya") == ["v1", "v3"]
    assert ids("sector=Health") == ["v1", "v4"]
    assert ids("code=DATA&min_score=0.5") == ["v1", "v4"]
    assert ids("kind=design_principle&min_score=0.6") == ["v2", "v4"]
    assert ids("code=OPEN&max_score=0.25") == ["v1"]
    ana.post("/ventures/v3/decide", {"code_id": "DATA", "action": "reject"})
    assert ids("status=rejected") == ["v3"]
    assert ids("coder=ana") == ["v3"]
    assert ids("per_page=2&page=2") == ["v3", "v4"]
    r = ana.get("/api/ventures?status=maybe")
    assert r.status_code == 400 and "status must be one of" in r.json()["error"]
    page = ana.get("/ventures?country=Kenya").text
    assert "Field Survey Co" in page and "Open Lessons" not in page


def test_dashboard_and_queue(login) -> None:
    ana = login("ana")
    page = ana.get("/").text
    assert "ventures" in page and "Review progress" in page
    rows = ana.get("/api/queue").json()
    assert rows and rows[0]["venture_id"] in {"v3", "v4"}  # the machine is least sure there
    first = rows[0]["venture_id"]
    assert ana.get("/queue/next").headers["location"].startswith(f"/ventures/{first}?queue=1")
    ana.post(f"/ventures/{first}/decide", {"code_id": "DATA", "action": "accept"})
    assert first not in [r["venture_id"] for r in ana.get("/api/queue").json()]


def test_stats_count_decisions(login) -> None:
    ana = login("ana")
    ana.post("/ventures/v1/decide", {"code_id": "DATA", "action": "accept"})
    stats = ana.get("/api/stats").json()
    assert (
        stats["ventures"] == 4
        and stats["accepted"] == 1
        and stats["reviewed"] == 1
        and stats["suggestions"] == 8
    )
