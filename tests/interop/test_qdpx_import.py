"""QDPX -> simap: what NVivo, ATLAS.ti and QualCoder write (fixtures built here, positions counted
independently of the code under test), Cases, unknown codes, lenient and strict mode."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simap.cli import app
from simap.errors import InvalidInput
from simap.interop.positions import Convention, Selection, SourceText, decode_text, detect
from simap.pipeline import Project
from simap.store import repo

runner = CliRunner()
TEXT_GUID = "AAAAAAAA-0000-0000-0000-000000000001"
CODE_A = "C0000000-0000-0000-0000-00000000000A"
CODE_B = "C0000000-0000-0000-0000-00000000000B"
USER = "B0000000-0000-0000-0000-000000000001"


def make_qdpx(path: Path, qde: str, files: dict[str, bytes], qde_name: str = "project.qde") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(qde_name, qde.encode("utf-8"))
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def project_xml(selections: str, *, codes: str | None = None, extra: str = "", origin: str = "A tool") -> str:
    codes = codes or (
        f'<Code guid="{CODE_A}" name="Greeting" isCodable="true"/>'
        f'<Code guid="{CODE_B}" name="Places::Lines" isCodable="true"/>'
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="Study" origin="{origin}">'
        f'<Users><User guid="{USER}" name="Rita Coder" id="RC"/></Users>'
        f"<CodeBook><Codes>{codes}</Codes></CodeBook>"
        f'<Sources><TextSource guid="{TEXT_GUID}" name="Interview 1.txt" '
        f'plainTextPath="internal://{TEXT_GUID}.txt">{selections}</TextSource></Sources>'
        f"{extra}</Project>"
    )


def selection(n: int, start: int, end: int, code: str, name: str | None = None, body: str = "") -> str:
    attr = f' name="{name}"' if name is not None else ""
    return (
        f'<PlainTextSelection guid="5E000000-0000-0000-0000-{n:012d}"{attr} startPosition="{start}" '
        f'endPosition="{end}" creatingUser="{USER}">{body}<Coding guid="6C000000-0000-0000-0000-{n:012d}" '
        f'creatingUser="{USER}"><CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


RAW = "Hi 😀 there, friend.\r\nSecond line 😀😀 here and more words.\r\nThird line ends."
QUOTES = [
    ("there", CODE_A),
    ("friend", CODE_A),
    ("Second line", CODE_B),
    ("more", CODE_B),
    ("words", CODE_A),
    ("Third", CODE_B),
    ("ends", CODE_A),
]


def utf16_crlf2(raw: str, i: int) -> int:
    return len(raw[:i].encode("utf-16-le")) // 2


def codepoint_crlf1(raw: str, i: int) -> int:
    return len(raw[:i].replace("\r\n", "\n"))


def _selections(counter, with_names: bool) -> str:
    out = []
    for n, (quote, code) in enumerate(QUOTES, start=1):
        i = RAW.index(quote)
        out.append(
            selection(n, counter(RAW, i), counter(RAW, i + len(quote)), code, quote if with_names else None)
        )
    return "".join(out)


def _import(tmp_path: Path, qdpx: Path, **kw):
    with Project.open(tmp_path / "p.db") as proj:
        report = proj.import_path(qdpx, **kw)
        docs = repo.load_documents(proj.store)
        assignments = repo.load_assignment_rows(proj.store)
        ventures = repo.load_ventures(proj.store)
    return report, docs, assignments, ventures


def _spans(assignments) -> set[tuple[str, str]]:
    return {(r["code_id"], e["text"]) for r in assignments.to_dict("records") for e in r["evidence"]}


def test_nvivo_utf16_units_crlf_as_2_bom_and_capital_sources_folder(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + RAW.encode("utf-8")
    qdpx = make_qdpx(
        tmp_path / "nvivo.qdpx",
        project_xml(_selections(utf16_crlf2, False)),
        {f"Sources/{TEXT_GUID}.txt": data},
    )
    report, docs, assignments, _ = _import(tmp_path, qdpx)
    assert report.convention.startswith("UTF-16 code units, CRLF counted as 2: 7 of 7")
    assert docs["text"].tolist() == [RAW.replace("\r\n", "\n")]
    assert _spans(assignments) == {("greeting", q) for q, c in QUOTES if c == CODE_A} | {
        ("lines", q) for q, c in QUOTES if c == CODE_B
    }
    text = docs["text"][0]
    for r in assignments.to_dict("records"):
        for e in r["evidence"]:
            assert text[e["start"] : e["end"]] == e["text"]
    assert set(assignments["coder"]) == {"Rita Coder"} and set(assignments["status"]) == {"accepted"}
    assert any("'Sources', not 'sources'" in w for w in report.warnings)


def test_atlasti_crlf_as_1_other_qde_name_hierarchy_and_description_memo(tmp_path: Path) -> None:
    sels = _selections(codepoint_crlf1, True).replace(
        'creatingUser="' + USER + '"><Coding',
        'creatingUser="' + USER + '"><Description>A memo</Description><Coding',
        1,
    )
    qdpx = make_qdpx(
        tmp_path / "atlas.qdpx",
        project_xml(sels, origin="ATLAS.ti 26"),
        {f"sources/{TEXT_GUID}.txt": RAW.encode("utf-8")},
        qde_name="Trial.qde",
    )
    report, _docs, assignments, _ = _import(tmp_path, qdpx)
    assert report.convention.startswith("code points, CRLF counted as 1: 7 of 7")
    assert report.xml_name == "Trial.qde" and any("not 'project.qde'" in w for w in report.warnings)
    assert ("lines", "Second line") in _spans(assignments)
    greeting = assignments[assignments["code_id"] == "greeting"].iloc[0]
    assert greeting["memo"] == "A memo"
    with Project.open(tmp_path / "p.db") as proj:
        book = proj.working_codebook()
    assert book.code("lines").parent == "places" and book.code("places").codable is False


def test_qualcoder_bom_not_counted(tmp_path: Path) -> None:
    raw = RAW.replace("\r\n", "\n")
    sels = "".join(
        selection(n, raw.index(q), raw.index(q) + len(q), c) for n, (q, c) in enumerate(QUOTES, start=1)
    )
    qdpx = make_qdpx(
        tmp_path / "qc.qdpx",
        project_xml(sels, origin="QualCoder 3.6"),
        {f"sources/{TEXT_GUID}.txt": b"\xef\xbb\xbf" + raw.encode("utf-8")},
    )
    report, _docs, assignments, _ = _import(tmp_path, qdpx)
    assert report.convention.startswith("code points, CRLF counted as 2: 7 of 7")
    assert {t for _, t in _spans(assignments)} == {q for q, _ in QUOTES}


def test_detect_prefers_the_specification_on_ties_and_scores_every_candidate() -> None:
    text = decode_text(b"plain words only")
    det = detect({"d": text}, [Selection("d", 0, 5, "plain")])
    assert det.convention == Convention() and det.fitting == 1 and det.scores == {}
    bom = decode_text(b"\xef\xbb\xbfab cd")
    det = detect({"d": bom}, [Selection("d", 4, 6, None)])  # "cd" when the BOM counts
    assert det.convention.bom_counted
    assert isinstance(bom, SourceText) and bom.text == "ab cd" and bom.had_bom


V = "7A000000-0000-0000-0000-00000000000"


def _value(n: int, kind: str, value: str) -> str:
    return f'<VariableValue><VariableRef targetGUID="{V}{n}"/><{kind}>{value}</{kind}></VariableValue>'


CASES = (
    f'<Variables><Variable guid="{V}1" name="Country" typeOfVariable="Text"/>'
    f'<Variable guid="{V}2" name="year" typeOfVariable="Integer"/>'
    f'<Variable guid="{V}3" name="Staff" typeOfVariable="Integer"/></Variables>'
    '<Cases><Case guid="CA000000-0000-0000-0000-000000000001" name="Acme Water">'
    + _value(1, "TextValue", "Kenya")
    + _value(2, "IntegerValue", "2012")
    + _value(3, "IntegerValue", "7")
    + f'<SourceRef targetGUID="{TEXT_GUID}"/><SourceRef targetGUID="AAAAAAAA-0000-0000-0000-000000000002"/>'
    "</Case></Cases>"
)


def test_cases_group_sources_into_one_venture_with_variables(tmp_path: Path) -> None:
    qde = (
        project_xml(selection(1, 0, 2, CODE_A))
        .replace("<Sources>", CASES + "<Sources>")
        .replace(
            "</Sources>",
            '<TextSource guid="AAAAAAAA-0000-0000-0000-000000000002" name="Notes">'
            "<PlainTextContent>Second source text.</PlainTextContent></TextSource>"
            '<TextSource guid="AAAAAAAA-0000-0000-0000-000000000003" name="Lonely.txt">'
            "<PlainTextContent>A source in no case.</PlainTextContent></TextSource></Sources>",
        )
    )
    qdpx = make_qdpx(tmp_path / "cases.qdpx", qde, {f"sources/{TEXT_GUID}.txt": b"Hi there."})
    report, docs, assignments, ventures = _import(tmp_path, qdpx)
    assert report.sources == 3 and report.total == 2
    acme = ventures[ventures["id"] == "acme-water"].iloc[0]
    assert (acme["country"], acme["year"], acme["metadata"]) == ("Kenya", 2012, {"Staff": 7})
    assert sorted(docs[docs["venture_id"] == "acme-water"]["field"]) == ["Interview 1.txt", "Notes"]
    assert docs[docs["venture_id"] == "lonely"]["field"].tolist() == ["text"]
    assert assignments.iloc[0]["evidence"][0]["text"] == "Hi"


def test_unknown_codes_make_a_new_codebook_version(coded_project, tmp_path: Path) -> None:
    before = coded_project.working_codebook()
    codes = (
        f'<Code guid="{CODE_A}" name="Funding" isCodable="true"/>'
        f'<Code guid="{CODE_B}" name="Brand new code" isCodable="true" color="#ABCDEF"/>'
    )
    qde = project_xml(selection(1, 0, 2, CODE_A) + selection(2, 3, 8, CODE_B), codes=codes)
    qdpx = make_qdpx(tmp_path / "new.qdpx", qde, {f"sources/{TEXT_GUID}.txt": b"Hi there."})
    report = coded_project.import_path(qdpx)
    after = coded_project.working_codebook()
    assert report.new_codes == ["brand-new-code"] and after.version != before.version
    assert (
        after.ids()[: len(before.ids())] == before.ids() and after.code("brand-new-code").color == "#ABCDEF"
    )
    rows = repo.load_assignment_rows(coded_project.store)
    mine = rows[rows["coder"] == "Rita Coder"]
    assert sorted(mine["code_id"]) == ["FUND", "brand-new-code"]


def test_lenient_warns_naming_file_and_element_and_strict_refuses_writing_nothing(tmp_path: Path) -> None:
    qde = project_xml(
        selection(1, 0, 2, "c001"), codes='<Code guid="c001" name="Odd" isCodable="true"/>', extra="<Sets/>"
    )
    qdpx = make_qdpx(tmp_path / "odd.qdpx", qde, {f"sources/{TEXT_GUID}.txt": b"Hi there."})
    with Project.open(tmp_path / "strict.db") as proj:
        with pytest.raises(InvalidInput, match="strict mode") as exc:
            proj.import_path(qdpx, strict=True)
        assert any("Project.xsd" in d for d in exc.value.details)
        assert repo.load_ventures(proj.store).empty and repo.load_assignment_rows(proj.store).empty
    report, *_ = _import(tmp_path, qdpx)
    assert any(
        'odd.qdpx: <Code name="Odd" guid="c001">: guid \'c001\' is not a UUID' in w for w in report.warnings
    )
    assert report.codings == 1
    assert any("odd.qdpx: <Sets>: is empty" in w for w in report.warnings)


def test_cli_import_qdpx_reports_convention(tmp_path: Path) -> None:
    qdpx = make_qdpx(
        tmp_path / "nvivo.qdpx",
        project_xml(_selections(utf16_crlf2, False)),
        {f"sources/{TEXT_GUID}.txt": RAW.encode("utf-8")},
    )
    result = runner.invoke(app, ["import", str(qdpx), "-p", str(tmp_path / "c.db")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "2 codes, 1 sources (1 with text), 7 selections, 7 codings by 1 coders (Rita Coder)" in out
    assert "Positions: UTF-16 code units, CRLF counted as 2" in out
