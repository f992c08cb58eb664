"""Ventures near each other by text: venture vectors, peers' tie-break, diagnose and portfolio."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simap.advise import Advisor
from simap.advise.landscape import AdviceIndex
from simap.advise.portfolio import portfolio_report
from simap.advise.recommend import find_peers
from simap.advise.similar import TextNeighbours, venture_vectors
from simap.embed import FakeEmbedder

TEXTS = {
    "v1": "Nurses record clinic visits on phones. Records sync to the district.",
    "v2": "Farmers photograph crops. A model spots pests in the fields.",
    "v3": "Village water pumps report their state. Repairs are scheduled.",
    "v4": "Clinic patients keep their records on phones in the district.",
    "v5": "Volunteers map roads after floods.",
    "v6": "Girls learn to code in after-school clubs.",
    "v7": "Young people learn skills in evening clubs.",
    "v8": "A shared cloud stack for nonprofits.",
    "v9": "",
    "v10": "Nurses record clinic visits on phones.",
}


def segments() -> pd.DataFrame:
    rows = []
    for vid, text in TEXTS.items():
        for seq, sentence in enumerate(s for s in text.split(". ") if s):
            rows.append(
                {
                    "venture_id": vid,
                    "field": "description",
                    "seq": seq,
                    "start": 0,
                    "end": 1,
                    "text": sentence,
                }
            )
    return pd.DataFrame(rows, columns=["venture_id", "field", "seq", "start", "end", "text"])


def with_text(index: AdviceIndex) -> AdviceIndex:
    index.text = TextNeighbours.from_segments(segments(), FakeEmbedder().embed)
    return index


def test_venture_vectors_are_unit_means_of_sentences() -> None:
    ids, vecs = venture_vectors(segments(), FakeEmbedder().embed)
    assert "v9" not in ids and len(ids) == 9  # no text, no vector
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    emb = FakeEmbedder().embed(["Nurses record clinic visits on phones", "Records sync to the district."])
    mean = emb.mean(axis=0)
    np.testing.assert_allclose(vecs[ids.index("v1")], mean / np.linalg.norm(mean), atol=1e-5)


def test_nearest_ventures_by_text(index: AdviceIndex) -> None:
    text = with_text(index).text
    assert text is not None and len(text) == 9
    query = text.embed_texts({"description": "Nurses record clinic visits on phones."})
    assert query is not None
    found = text.nearest(query, 3)
    assert found[0][0] == "v10" and found[0][1] > 0.99
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert "v10" not in [v for v, _ in text.nearest(query, 3, exclude=["v10"])]


def test_text_similarity_breaks_ties_between_peers(index: AdviceIndex) -> None:
    # v2 (India, Agriculture) and v3 (Peru, Water) tie for a Kenyan health venture facing B2 with DP5
    plain = find_peers(index, ["B2"], ["DP5"], countries=["Kenya"], sectors=["Health"], k=1)
    assert [p.venture_id for p in plain] == ["v2"]  # by id
    text = with_text(index).text
    assert text is not None
    query = text.embed_texts({"d": "Water pumps in the village report their state."})
    near = find_peers(index, ["B2"], ["DP5"], countries=["Kenya"], sectors=["Health"], k=1, query=query)
    assert [p.venture_id for p in near] == ["v3"]
    again = find_peers(index, ["B2"], ["DP5"], countries=["Kenya"], sectors=["Health"], k=1)
    assert [p.venture_id for p in again] == ["v2"]  # no query: unchanged


def test_portfolio_lists_nearest_ventures_outside(index: AdviceIndex) -> None:
    assert portfolio_report(index, ["v1"]).similar_outside == []  # no text index: none
    report = portfolio_report(with_text(index), ["v1", "v6"], n_similar=3)
    outside = report.similar_outside
    assert len(outside) == 3 and not {s.venture_id for s in outside} & {"v1", "v6"}
    assert outside[0].venture_id == "v10" and outside[0].nearest_to == "v1"
    assert outside[0].shared_codes == ["B2", "DP5"]
    assert [s.similarity for s in outside] == sorted((s.similarity for s in outside), reverse=True)


def test_diagnosis_lists_the_most_similar_ventures(advice_project) -> None:
    advisor = Advisor(advice_project, min_score=0.99)
    d = advisor.diagnose(venture_id="v1", answers={"b2_data_chain": "yes"}, n_similar=3)
    assert len(d.similar) == 3 and "v1" not in {s.venture_id for s in d.similar}
    assert d.similar[0].venture_id == "v10"  # Copycat: the same words as FieldForms
    assert "B2" in d.similar[0].shared_codes
    from simap.advise.render import render

    assert "Most similar ventures on the map" in render(d, "md") and 'id="similar"' in render(d, "html")
    free = advisor.diagnose("CropWatch is a venture of the simap test fixtures.", n_similar=2)
    assert free.similar[0].venture_id == "v2"
    off = Advisor(advice_project, min_score=0.99, similar=False)
    assert off.diagnose(venture_id="v1", n_similar=3).similar == [] and off.index.text is None


def test_briefs_show_similar_ventures(index: AdviceIndex) -> None:
    from simap.advise.render import render

    report = portfolio_report(with_text(index), ["v1"], n_similar=2)
    assert "Similar ventures outside the portfolio" in render(report, "md")
    assert 'id="similar"' in render(report, "html")


def test_portfolio_of_a_project_lists_similar_ventures(advice_project) -> None:
    from simap.advise import portfolio

    report = portfolio(advice_project, ["v1"], min_score=0.99)
    assert report.similar_outside and report.similar_outside[0].venture_id == "v10"
    assert portfolio(advice_project, ["v1"], min_score=0.99, similar=False).similar_outside == []


# -- the saved venture index ------------------------------------------------------------------
class CountBuilds:
    """``build_index`` that counts its calls (``backend`` fixed when given)."""

    def __init__(self, backend: str = "auto") -> None:
        self.calls = 0
        self.backend = backend

    def __call__(self, vectors, ids, **params):  # type: ignore[no-untyped-def]
        from simap.embed.index import build_index

        self.calls += 1
        return build_index(vectors, ids, backend=self.backend, **params)


def text_of(project, embedder=None) -> AdviceIndex:  # type: ignore[no-untyped-def]
    """A fresh AdviceIndex of ``project`` with its text index, as a new process builds it."""
    index = AdviceIndex.from_project(project, min_score=0.99)
    return index.with_text(project, embedder or FakeEmbedder())


def saved_copies(project) -> list[str]:  # type: ignore[no-untyped-def]
    from simap.advise.similar import saved_folder

    folder = saved_folder(project.store)
    assert folder is not None and folder.parent.name == "advice.db.simap-cache"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_second_advice_index_loads_the_saved_venture_index(advice_project, monkeypatch) -> None:
    builds = CountBuilds()
    monkeypatch.setattr("simap.advise.similar.build_index", builds)
    first = text_of(advice_project).text
    second = text_of(advice_project).text
    assert builds.calls == 1 and first is not None and second is not None
    assert len(saved_copies(advice_project)) == 1
    assert second.ids == first.ids
    np.testing.assert_array_equal(second.vectors, first.vectors)
    assert second.nearest(first.vectors[0], 3) == first.nearest(first.vectors[0], 3)
    assert second.embedder_key == "fake:dim=64"


def test_a_changed_venture_or_model_builds_the_venture_index_again(
    advice_project, monkeypatch, tmp_path
) -> None:
    builds = CountBuilds()
    monkeypatch.setattr("simap.advise.similar.build_index", builds)
    before = text_of(advice_project).text
    [old_copy] = saved_copies(advice_project)
    changed = tmp_path / "changed.jsonl"
    changed.write_text(
        json.dumps({"id": "v3", "name": "WaterLog", "text": "Solar pumps bring water to villages."}) + "\n"
    )
    advice_project.import_path(changed)
    after = text_of(advice_project).text
    assert builds.calls == 2 and before is not None and after is not None
    assert not np.array_equal(after.vector_of("v3"), before.vector_of("v3"))
    np.testing.assert_array_equal(after.vector_of("v1"), before.vector_of("v1"))
    [new_copy] = saved_copies(advice_project)  # the copy of the old texts is gone
    assert new_copy != old_copy
    text_of(advice_project)
    assert builds.calls == 2
    other = text_of(advice_project, FakeEmbedder(dim=32)).text  # another model: another key
    assert builds.calls == 3 and other is not None and other.vectors.shape[1] == 32
    assert text_of(advice_project, FakeEmbedder(dim=32)).text is not None and builds.calls == 3


@pytest.mark.parametrize(
    ("backend", "damage"),
    [
        ("exact", "truncate vectors.npy"),
        ("exact", "flip a byte of index/vectors.npy"),
        ("exact", "remove manifest.json"),
        ("exact", "remove ids.npy"),
        ("usearch", "truncate index/graph.usearch"),
        ("usearch", "flip a byte of index/graph.usearch"),
    ],
)
def test_a_damaged_saved_venture_index_is_built_again(advice_project, monkeypatch, backend, damage) -> None:
    if backend == "usearch":
        pytest.importorskip("usearch")
    builds = CountBuilds(backend)
    monkeypatch.setattr("simap.advise.similar.build_index", builds)
    first = text_of(advice_project).text
    assert first is not None and first.index.name == backend
    from simap.advise.similar import saved_folder

    [name] = saved_copies(advice_project)
    folder = saved_folder(advice_project.store) / name  # type: ignore[operator]
    action, target = damage.split(" ", 1)
    path = folder / target.split(" of ")[-1]
    if action == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif action == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    again = text_of(advice_project).text
    assert builds.calls == 2 and again is not None and again.index.name == backend
    assert again.ids == first.ids
    np.testing.assert_array_equal(again.vectors, first.vectors)
    assert again.nearest(first.vectors[0], 3) == first.nearest(first.vectors[0], 3)
    assert saved_copies(advice_project) == [name]  # saved again, whole
    text_of(advice_project)
    assert builds.calls == 2


def test_a_leftover_temporary_folder_is_ignored_and_in_memory_projects_save_nothing(
    advice_project, monkeypatch
) -> None:
    from simap.advise.similar import saved_folder
    from simap.store.db import Store

    builds = CountBuilds()
    monkeypatch.setattr("simap.advise.similar.build_index", builds)
    folder = saved_folder(advice_project.store)
    assert folder is not None
    (folder / ".tmp-crashed").mkdir(parents=True)
    (folder / ".tmp-crashed" / "vectors.npy").write_bytes(b"half")
    text_of(advice_project)
    text_of(advice_project)
    assert builds.calls == 1
    assert saved_folder(Store("sqlite://")) is None
