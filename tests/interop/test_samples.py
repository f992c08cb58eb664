"""Every REFI-QDA sample in ../shared/data/refi-qda imports (skips when ../shared is absent).

Counts are those of the samples' README and research note (NVivo: 262 codes nested 7 deep,
2 text sources, 0 selections) or counted in the files by element name; quotes are exact.
The samples are read in place, never copied into the repository (several are AGPL or LGPL).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simap.interop.qdc import read_qdc
from simap.pipeline import Project
from simap.store import repo

pytestmark = pytest.mark.data
HAND_TXT = "11111111-1111-1111-1111-111111111111.txt"


def _import(tmp_path: Path, path: Path):
    with Project.open(tmp_path / "p.db") as proj:
        report = proj.import_path(path)
        rows = repo.load_assignment_rows(proj.store)
        ventures = repo.load_ventures(proj.store)
        docs = repo.load_documents(proj.store)
        book = proj.working_codebook()
    return report, rows, ventures, docs, book


def _evidence(rows, venture: str, code: str) -> list[dict]:
    match = rows[(rows["venture_id"] == venture) & (rows["code_id"] == code)]
    assert len(match) == 1, (venture, code)
    return match.iloc[0]["evidence"]


def test_atlasti_spec_annex_a2(shared_file, tmp_path: Path) -> None:
    report, rows, ventures, _, book = _import(
        tmp_path, shared_file("refi-qda/atlasti-8.4_spec-annexA2_project.qde")
    )
    assert (report.codes, report.sources, report.selections, report.codings) == (14, 12, 15, 16)
    assert report.coders == ["Friedrich Markgraf"] and report.notes == 2
    assert (
        book.code("diet-coke").parent == "coke" and book.code("diet-coke").name == "diet Coke"
    )  # Coke::diet Coke
    assert book.code("diet-coke").definition == "non sucré"
    quote = _evidence(rows, "1994-diet-coke-diet-coke-break", "diet-coke")[0]["text"]
    assert quote == "Oh, that was great. See you tomorrow? Eleven thirty. Mm."
    assert [
        e["text"] for e in _evidence(rows, "pay-de-limon-con-base-de-granola-kellogg-s", "waste-of-time")
    ] == [
        "granola",
        "granola",
    ]
    simon = rows[(rows["venture_id"] == "simon") & (rows["code_id"] == "bacon-and-eggs")].iloc[0]
    assert simon["memo"] == "why does Simon feel the need to do this?"  # selection Description
    assert len(ventures) == 12
    # the source texts are not in the sample: each missing file is a warning naming the element
    assert any('<TextSource name="Simon.docx"' in w and "is not imported" in w for w in report.warnings)


def test_nvivo_mac(shared_file, tmp_path: Path) -> None:
    report, rows, ventures, _, book = _import(tmp_path, shared_file("refi-qda/nvivo-mac-15.0_project.qde"))
    assert (report.codes, report.sources, report.selections, report.codings) == (262, 2, 0, 0)
    assert len(book.codes) == 262 and max(len(book.path(c.id)) for c in book.codes) == 7
    assert all(c.color is None for c in book.codes)
    assert rows.empty and len(ventures) == 2


def test_f4(shared_file, tmp_path: Path) -> None:
    report, rows, ventures, _, book = _import(tmp_path, shared_file("refi-qda/f4-2025.2.9_project.qde"))
    assert (report.codes, report.sources, report.selections, report.codings) == (1, 4, 4, 2)
    assert book.codes[0].name == "Dies ist ein Test-Code" and book.codes[0].color == "#044B9B"
    assert rows["code_id"].tolist() == ["dies-ist-ein-test-code"]
    memos = ventures.set_index("id").loc["interview-60mins", "metadata"]["memos"]
    assert {m["text"] for m in memos} == {
        "Dies ist ein Memo, angeheftet an ein Text-Snippet (das nicht codiert ist!)",
        "Dies ist ein Memo, angeheftet an ein Text-Snipped (das codiert ist!)",
    }


@pytest.mark.parametrize("as_archive", [False, True])
def test_handauthored_every_element_type(shared_file, tmp_path: Path, as_archive: bool) -> None:
    qde = shared_file("refi-qda/handauthored_project.qde")
    txt = shared_file(f"refi-qda/handauthored_{HAND_TXT}")
    folder = tmp_path / "in"
    (folder / "sources").mkdir(parents=True)
    shutil.copy(txt, folder / "sources" / HAND_TXT)
    if as_archive:
        import zipfile

        path = folder / "hand.qdpx"
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(qde, "project.qde")
            zf.write(txt, f"sources/{HAND_TXT}")
    else:
        path = folder / "project.qde"
        shutil.copy(qde, path)
    report, rows, ventures, docs, book = _import(tmp_path, path)
    assert (report.codes, report.sources, report.selections, report.codings) == (4, 5, 7, 8)
    assert report.coders == ["Researcher A"]
    assert book.code("diet").parent == "health" and book.code("health").parent == "topics"
    assert book.code("topics").codable is False
    text = "Diet and health are closely linked in this interview."
    assert docs.set_index("venture_id").loc["participant-1", "text"] == text
    health = _evidence(rows, "participant-1", "health")
    assert health == [{"field": "Interview 1.txt", "start": 0, "end": 15, "text": "Diet and health"}]
    # overlapping selection 9-23 (its name says "health are closely"; the positions say this)
    assert _evidence(rows, "participant-1", "diet")[0]["text"] == "health are clo"
    memo = rows[(rows["venture_id"] == "participant-1") & (rows["code_id"] == "health")].iloc[0]["memo"]
    assert memo == "Remember to follow up on diet-related comments."  # a Link from the Note
    transcript = _evidence(rows, "interview", "diet")
    assert transcript[0]["text"] == "Diet and health are "  # SyncPoints 0 and 20
    assert _evidence(rows, "doc", "health") == [{"text": "diet and health"}]
    assert ventures.set_index("id").loc["participant-1", "metadata"] == {"Age": 34, "Consented": True}


@pytest.mark.parametrize(
    ("name", "codes", "warning"),
    [
        ("atlasti-win-9.0.19_codebook.qdc", 5, "pre-1.0 namespace"),
        ("openqda_example_codebook.qdc", 44, "is not a UUID"),
        ("spec-annexA1_codebook_portableqda.qdc", 6, "<Sets>: is empty"),
        ("taguette-1.5.2_codebook.qdc", 3, "<Sets>: is empty"),
    ],
)
def test_codebook_samples(shared_file, name: str, codes: int, warning: str) -> None:
    result = read_qdc(shared_file(f"refi-qda/{name}"))
    assert len(result.codebook.codes) == codes
    assert any(warning in w and name in w for w in result.warnings)


def test_codebook_sample_hierarchies(shared_file) -> None:
    taguette = read_qdc(shared_file("refi-qda/taguette-1.5.2_codebook.qdc")).codebook
    assert taguette.code("places").parent == "interesting"  # "interesting\\places"
    atlas = read_qdc(shared_file("refi-qda/atlasti-win-9.0.19_codebook.qdc")).codebook
    assert atlas.code("code1-1").parent == "code1" and atlas.code("code3").codable is False
    spec = read_qdc(shared_file("refi-qda/spec-annexA1_codebook_portableqda.qdc")).codebook
    assert spec.code("economy").color == "#ffff00"
    assert spec.code("economy").definition == "Anything about jobs or taxes or business"
    openqda = read_qdc(shared_file("refi-qda/openqda_example_codebook.qdc")).codebook
    assert openqda.code("rage").parent == "negativ-aufgeregt"
