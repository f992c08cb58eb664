"""Library side of the workbench: codebook edits, review actions, blind scope, reliability."""

from __future__ import annotations

import pandas as pd
import pytest

from simap.batches import IngestBatch
from simap.errors import InvalidCodebook, InvalidInput
from simap.review import actions, blind, codebook_edit, reliability
from simap.store import repo


@pytest.fixture
def coded(store, tiny_codebook):
    from simap.ingest.segment import segment_documents

    ventures = pd.DataFrame(
        [
            {
                "id": v,
                "name": v.upper(),
                "country": None,
                "sector": None,
                "year": None,
                "metadata": {},
                "source": "t",
            }
            for v in ("a", "b")
        ]
    )
    docs = pd.DataFrame(
        [
            {"venture_id": "a", "field": "text", "text": "We run field surveys. Data is open."},
            {"venture_id": "b", "field": "text", "text": "A wiki for all."},
        ]
    )
    repo.upsert_ventures(store, IngestBatch(ventures, docs), segment_documents(docs), actor="t", source="s")
    version = repo.save_codebook(store, tiny_codebook)
    run = repo.start_run(store, kind="code", codebook_version=version, model="m", params={})
    sugg = pd.DataFrame(
        [
            {
                "venture_id": "a",
                "code_id": "DATA",
                "score": 0.9,
                "raw": 0.9,
                "evidence": [{"field": "text", "start": 0, "end": 21, "text": "We run field surveys."}],
            },
            {"venture_id": "b", "code_id": "OPEN", "score": 0.8, "raw": 0.8, "evidence": []},
        ]
    )
    repo.save_machine_suggestions(store, sugg, coder="m", codebook_version=version, run_id=run)
    repo.finish_run(store, run)
    return store


def test_apply_edits(tiny_codebook) -> None:
    new = codebook_edit.apply_edits(
        tiny_codebook,
        [
            {"op": "rename", "code_id": "DATA", "name": "Field data"},
            {"op": "edit", "code_id": "OPEN", "examples": ["x", "x", "y"], "definition": " Open stuff. "},
            {"op": "retire", "code_id": "OPEN"},
            {"op": "restore", "code_id": "OPEN"},
        ],
    )
    assert new.code("DATA").name == "Field data" and new.code("OPEN").examples == ["x", "y"]
    assert new.code("OPEN").definition == "Open stuff." and new.version != tiny_codebook.version
    with pytest.raises(InvalidInput, match="at least one active code"):
        codebook_edit.apply_edits(
            tiny_codebook, [{"op": "retire", "code_id": "DATA"}, {"op": "retire", "code_id": "OPEN"}]
        )
    with pytest.raises(InvalidCodebook):
        codebook_edit.apply_edits(tiny_codebook, [{"op": "add", "code": {"id": "9bad", "kind": "barrier"}}])
    with pytest.raises(InvalidInput, match="use one of DATA, OPEN"):
        codebook_edit.apply_edits(tiny_codebook, [{"op": "retire", "code_id": "NOPE"}])


def test_preview_and_save(coded, tiny_codebook) -> None:
    new, rows = codebook_edit.preview(
        coded, tiny_codebook, [{"op": "merge", "code_id": "OPEN", "into": "DATA"}]
    )
    by = {r.code_id: r for r in rows}
    assert (by["OPEN"].before, by["OPEN"].after) == (1, 0) and "merged into DATA" in by["OPEN"].note
    assert (by["DATA"].before, by["DATA"].after) == (1, 1) and "up to 1 more" in by["DATA"].note
    assert codebook_edit.working_codebook(coded).version == tiny_codebook.version
    saved = codebook_edit.save_edits(
        coded, tiny_codebook, [{"op": "merge", "code_id": "OPEN", "into": "DATA"}], actor="ana"
    )
    assert codebook_edit.working_codebook(coded).version == saved.version == new.version
    with pytest.raises(InvalidInput, match="nothing to save"):
        codebook_edit.save_edits(coded, saved, [], actor="ana")


def test_decisions_keep_machine_evidence_and_memo(coded, tiny_codebook) -> None:
    out = actions.accept(coded, tiny_codebook, "a", "DATA", user="ana", memo="yes")
    assert out["evidence"][0]["text"] == "We run field surveys."
    out = actions.reject(coded, tiny_codebook, "a", "DATA", user="ana")
    assert out["memo"] == "yes" and out["status"] == "rejected"
    with pytest.raises(InvalidInput, match="accept the code first"):  # no evidence on a rejection
        actions.edit_span(coded, tiny_codebook, "a", "DATA", user="ana", spans=[actions.Span("text", 22, 35)])
    with pytest.raises(InvalidInput, match="evidence field"):
        actions.add_code(coded, tiny_codebook, "a", "OPEN", user="ana", spans=[actions.Span("nope", 0, 1)])
    view = actions.venture_view(coded, tiny_codebook, "a", viewer="ben")
    data = next(c for c in view.codes if c.code_id == "DATA")
    assert data.others == [{"coder": "ana", "status": "rejected", "memo": "yes"}] and not data.present
    assert view.events[0]["action"] == "code_rejected"


def test_blind_scope_and_reliability(coded, tiny_codebook, monkeypatch) -> None:
    from argon2 import PasswordHasher

    from simap.store import accounts

    monkeypatch.setattr(
        accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    for name in ("ana", "ben"):
        accounts.add_user(coded, name, "a long password", role="analyst")
    blind.create_set(coded, "s", ["a"], ["ana", "ben"], actor="ada", hide_machine=False)
    hidden = blind.hidden_for(coded, "ben")
    assert hidden.set_ids and not hidden.machine_set_ids and blind.hidden_for(coded, "ada").empty
    actions.accept(coded, tiny_codebook, "a", "DATA", user="ana")
    view = actions.venture_view(coded, tiny_codebook, "a", viewer="ben", hidden=hidden)
    data = next(c for c in view.codes if c.code_id == "DATA")
    assert data.others == [] and data.score == pytest.approx(0.9)  # machine visible in this set
    actions.accept(coded, tiny_codebook, "a", "DATA", user="ben")
    assert blind.list_sets(coded)[0].progress == {"ana": 1, "ben": 1}
    rep = reliability.agreement(coded, tiny_codebook, "ana", "ben")
    assert rep.n_items == 1 and rep.pooled["agreement"] == 1.0
    # a blind coder does not get agreement figures over their own blind ventures
    assert reliability.agreement(coded, tiny_codebook, "ana", "ben", hidden=hidden).n_items == 0
    assert reliability.coder_names(coded) == ["ana", "ben", "machine"]
    assert reliability.coder_codes(coded, tiny_codebook, "machine") == {"a": {"DATA"}, "b": {"OPEN"}}


def test_present_pairs_follows_effective_codes() -> None:
    """The fast per-page rule gives the same present codes as maps.select.effective_codes."""
    import random

    from simap.maps.select import effective_codes

    rng = random.Random(3)
    for _ in range(200):
        rows = []
        for _ in range(rng.randint(1, 8)):
            source = rng.choice(["machine", "human"])
            rows.append(
                {
                    "venture_id": rng.choice("ab"),
                    "code_id": rng.choice("XY"),
                    "kind": None,
                    "source": source,
                    "coder": rng.choice(["m", "ana", "ben"]),
                    "score": rng.choice([None, rng.random()]) if source == "human" else rng.random(),
                    "status": rng.choice(["suggested", "accepted", "rejected"]),
                    "evidence": [],
                }
            )
        frame = pd.DataFrame(rows)
        expected = (
            set(zip(*effective_codes(frame, min_score=0.5)[["venture_id", "code_id"]].T.values, strict=True))
            if len(effective_codes(frame, min_score=0.5))
            else set()
        )
        assert actions.present_pairs(rows, min_score=0.5) == expected, rows
