"""A small coded project written by us: three ventures (one with two text fields, emoji and
accents), a nested codebook, a machine coder and two human coders with evidence, memos and a
rejection that overrides the machine."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simap.codebook import from_dict
from simap.pipeline import Project
from simap.store import repo

VENTURES = [
    {
        "id": "agua-viva",
        "name": "Água Viva 🌊",
        "description": "Água Viva maps wells 🌊 with residents.\nVolunteers collect data on phones.",
        "interview": "We lack funding. Donors pay for pilots only.",
        "country": "Brazil",
        "sector": "Water",
        "year": 2015,
        "website": "https://example.org/agua",
        "tags": ["water", "maps"],
        "staff": 12,
        "rating": 4.5,
        "active": True,
    },
    {
        "id": "open-lessons",
        "name": "Open Lessons",
        "description": "Openly licensed lessons that teachers reuse and adapt.",
        "sector": "Education",
        "staff": 3,
        "rating": 3.0,
        "active": False,
    },
    {"id": "quiet", "name": "Quiet One", "description": "A venture nobody coded yet."},
]

CODEBOOK = {
    "name": "interop-test",
    "codes": [
        {
            "id": "TOPICS",
            "kind": "category",
            "name": "Topics",
            "definition": "Groups topics.",
            "codable": False,
        },
        {
            "id": "DATA",
            "kind": "barrier",
            "name": "Data collection",
            "definition": "Collecting field data.",
            "examples": ["Volunteers collect data on phones."],
            "parent": "TOPICS",
            "color": "#1F77B4",
        },
        {
            "id": "OPEN",
            "kind": "design_principle",
            "name": "Open knowledge",
            "definition": "Open content anyone can reuse.",
            "parent": "TOPICS",
        },
        {"id": "FUND", "kind": "challenge", "name": "Funding", "definition": "Money is hard to find."},
    ],
}
MACHINE = "zeroshot:fake:test"


def ev(text: str, doc: str, fld: str, **extra: object) -> dict[str, object]:
    start = doc.index(text)
    return {"field": fld, "start": start, "end": start + len(text), "text": text, **extra}


def build_project(db: str | Path) -> Project:
    """The fixture project, coded; the caller closes it."""
    folder = Path(db).parent
    src = folder / "ventures.jsonl"
    src.write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in VENTURES), encoding="utf-8")
    proj = Project.open(db)
    proj.import_path(src)
    book = from_dict(CODEBOOK)
    version = repo.save_codebook(proj.store, book)
    d1, i1 = VENTURES[0]["description"], VENTURES[0]["interview"]
    d2 = VENTURES[1]["description"]
    run = repo.start_run(proj.store, kind="code", codebook_version=version, model=MACHINE, params={})
    suggestions = pd.DataFrame(
        [
            (
                "agua-viva",
                "DATA",
                0.91234,
                1.2,
                [ev("Volunteers collect data on phones.", d1, "description")],
            ),
            ("agua-viva", "OPEN", 0.7, 0.4, [ev("maps wells 🌊", d1, "description")]),
            ("agua-viva", "FUND", 0.2, -1.0, [ev("We lack funding.", i1, "interview")]),
            ("open-lessons", "OPEN", 0.88, 1.0, [ev("Openly licensed lessons", d2, "description")]),
            ("quiet", "DATA", 0.6, 0.1, []),
        ],
        columns=["venture_id", "code_id", "score", "raw", "evidence"],
    )
    repo.save_machine_suggestions(
        proj.store, suggestions, coder=MACHINE, codebook_version=version, run_id=run
    )
    repo.finish_run(proj.store, run, stats={})
    repo.save_human_codes(
        proj.store,
        [
            {
                "venture_id": "agua-viva",
                "code_id": "FUND",
                "status": "accepted",
                "evidence": [
                    ev("Donors pay for pilots only.", i1, "interview"),
                    ev("We lack funding.", i1, "interview"),
                ],
                "memo": "Founder says pilots only; line 2 of the interview.",
            },
            {
                "venture_id": "agua-viva",
                "code_id": "OPEN",
                "status": "rejected",
                "evidence": [],
                "memo": "Maps are not open content here.",
            },
            {"venture_id": "agua-viva", "code_id": "DATA", "status": "rejected", "evidence": []},
            {"venture_id": "open-lessons", "code_id": "OPEN", "status": "accepted", "evidence": []},
        ],
        coder="ana",
        codebook_version=version,
        source="test",
    )
    repo.save_human_codes(
        proj.store,
        [
            {
                "venture_id": "agua-viva",
                "code_id": "DATA",
                "status": "accepted",
                "evidence": [ev("collect data", d1, "description")],
            },
        ],
        coder="Bruno Müller",
        codebook_version=version,
        source="test",
    )
    return proj


@pytest.fixture
def coded_project(tmp_path: Path):
    (tmp_path / "src").mkdir()
    proj = build_project(tmp_path / "src" / "p.db")
    yield proj
    proj.close()
