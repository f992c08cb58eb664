from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simap.errors import InvalidInput
from simap.report.export import csv_columns, export_codes


def test_export_jsonl_round_trip(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    path = tmp_path / "codes.jsonl"
    n = export_codes(ventures, assignments, codebook, path, fmt="jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert n == len(rows) == 4
    by_id = {r["id"]: r for r in rows}
    assert list(by_id) == ["v1", "v2", "v3", "v4"]
    v1 = by_id["v1"]
    assert set(v1) == {"id", "name", "country", "sector", "codes", "details"}
    assert v1["name"].startswith("<script>") and v1["codes"] == ["DP1", "B1"]
    assert v1["details"]["DP1"]["score"] == pytest.approx(0.91)
    assert v1["details"]["DP1"]["evidence"] == [
        {"text": 'Youth build <b>apps</b> "for" their town.', "field": "description", "start": 0, "end": 41}
    ]
    v2 = by_id["v2"]
    assert v2["country"] is None
    assert v2["codes"] == ["DP1", "DP2"]  # DP2 via human accept
    assert v2["details"]["DP2"]["status"] == "accepted" and v2["details"]["DP2"]["source"] == "human"
    assert v2["details"]["DP2"]["coder"] == "alice"
    v3 = by_id["v3"]
    assert v3["codes"] == []
    assert v3["details"]["B2"]["status"] == "rejected"
    assert v3["details"]["C1"]["status"] == "suggested"  # below threshold: detail kept, not a code
    assert by_id["v4"] == {
        "id": "v4",
        "name": "Venture v4",
        "country": "KE",
        "sector": "health",
        "codes": [],
        "details": {},
    }


def test_export_thresholds(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    path = tmp_path / "codes.jsonl"
    export_codes(ventures, assignments, codebook, path, min_score=0.1)
    rows = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert rows["v3"]["codes"] == ["C1"]
    export_codes(ventures, assignments, codebook, path, include_suggestions=False)
    rows = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert rows["v1"]["codes"] == [] and rows["v2"]["codes"] == ["DP2"]


def test_export_csv_round_trip(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    path = tmp_path / "codes.csv"
    n = export_codes(ventures, assignments, codebook, path, fmt="csv")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        assert reader.fieldnames == csv_columns(codebook)
    assert n == len(rows) == 4
    assert reader.fieldnames[:5] == ["id", "name", "country", "sector", "codes"]
    assert "DP1_score" in reader.fieldnames and "X9_score" not in reader.fieldnames
    v1, v2, v3, v4 = rows
    assert v1["name"] == "<script>alert('x')</script> & Co"
    assert v1["codes"] == "DP1;B1"
    assert float(v1["DP1_score"]) == pytest.approx(0.91)
    assert v1["DP1_status"] == "suggested"
    assert v1["DP1_evidence"] == 'Youth build <b>apps</b> "for" their town.'
    assert v2["country"] == "" and v2["DP2_status"] == "accepted"
    assert v2["DP2_evidence"] == "Below the threshold."  # machine evidence kept under human accept
    assert v3["codes"] == "" and v3["B2_status"] == "rejected"
    assert v4["DP1_score"] == "" and v4["DP1_status"] == ""


def test_export_unknown_format(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    with pytest.raises(InvalidInput) as info:
        export_codes(ventures, assignments, codebook, tmp_path / "x.xml", fmt="xml")
    assert "jsonl" in str(info.value) and "csv" in str(info.value) and "xml" in str(info.value)
    assert not (tmp_path / "x.xml").exists()


def test_export_invalid_min_score_writes_nothing(sample, codebook, tmp_path: Path) -> None:
    ventures, assignments = sample
    with pytest.raises(InvalidInput):
        export_codes(ventures, assignments, codebook, tmp_path / "x.jsonl", min_score=2)
    assert not (tmp_path / "x.jsonl").exists()
