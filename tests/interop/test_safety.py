"""Untrusted REFI-QDA files: no XXE or entity expansion, zip-slip and zip-bomb guards, and a broken
archive gives a clear error and changes nothing in the project."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from simap.errors import InvalidInput
from simap.interop.qdpx_import import import_refi
from simap.interop.safety import SafeArchive, ZipLimits, parse_xml, safe_member_name
from simap.pipeline import Project
from simap.store import repo, schema

GOOD = (
    '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="x">'
    '<Users><User guid="B0000000-0000-0000-0000-000000000001" name="Rita"/></Users>'
    '<CodeBook><Codes><Code guid="C0000000-0000-0000-0000-000000000001" name="A" isCodable="true"/></Codes>'
    '</CodeBook><Sources><TextSource guid="AAAAAAAA-0000-0000-0000-000000000001" name="t" '
    'plainTextPath="internal://AAAAAAAA-0000-0000-0000-000000000001.txt">'
    '<PlainTextSelection guid="5E000000-0000-0000-0000-000000000001" startPosition="0" endPosition="2">'
    '<Coding guid="6C000000-0000-0000-0000-000000000001" creatingUser="B0000000-0000-0000-0000-000000000001">'
    '<CodeRef targetGUID="C0000000-0000-0000-0000-000000000001"/></Coding></PlainTextSelection>'
    "</TextSource></Sources></Project>"
)
TEXT = ("sources/AAAAAAAA-0000-0000-0000-000000000001.txt", b"Hi there.")


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def _counts(proj: Project) -> tuple[int, ...]:
    return tuple(
        repo.count(proj.store, t)
        for t in (schema.Venture, schema.Document, schema.Assignment, schema.CodebookVersion, schema.Run)
    )


def _refused(tmp_path: Path, path: Path, match: str) -> InvalidInput:
    with Project.open(tmp_path / "p.db") as proj:
        before = _counts(proj)
        with pytest.raises(InvalidInput, match=match) as exc:
            proj.import_path(path)
        assert _counts(proj) == before == (0, 0, 0, 0, 0)  # nothing written
    return exc.value


def test_good_archive_imports(tmp_path: Path) -> None:
    with Project.open(tmp_path / "ok.db") as proj:
        report = proj.import_path(_zip(tmp_path / "ok.qdpx", [("project.qde", GOOD.encode()), TEXT]))
        assert report.codings == 1 and _counts(proj)[:3] == (1, 1, 1)


@pytest.mark.parametrize(
    "doctype",
    [
        # billion laughs
        '<!DOCTYPE P [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE P [<!ENTITY e SYSTEM "file:///etc/passwd">]>',  # XXE
        '<!DOCTYPE P SYSTEM "http://example.org/evil.dtd">',  # external DTD
    ],
)
def test_dtds_and_entities_are_refused(tmp_path: Path, doctype: str) -> None:
    xml = GOOD.replace("?><Project", "?>" + doctype + "<Project").replace('name="A"', 'name="&b;"')
    path = _zip(tmp_path / "evil.qdpx", [("project.qde", xml.encode()), TEXT])
    err = _refused(tmp_path, path, "unsafe XML")
    assert "evil.qdpx" in str(err)
    with pytest.raises(InvalidInput, match="unsafe XML"):
        parse_xml(xml.encode(), source="x")


@pytest.mark.parametrize("name", ["../evil.txt", "sources/../../evil.txt", "/etc/evil.txt", "C:/evil.txt"])
def test_zip_slip_entries_are_refused(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path / "slip.qdpx", [("project.qde", GOOD.encode()), TEXT, (name, b"x")])
    _refused(tmp_path, path, "zip-slip")
    assert safe_member_name(name) is None
    assert safe_member_name("sources/./a.txt") == "sources/a.txt"


def test_zip_bomb_ratio_and_size_limits(tmp_path: Path) -> None:
    bomb = _zip(
        tmp_path / "bomb.qdpx", [("project.qde", GOOD.encode()), TEXT, ("sources/z.txt", b"\0" * (4 << 20))]
    )
    _refused(tmp_path, bomb, "zip bomb")
    small = _zip(tmp_path / "big.qdpx", [("project.qde", GOOD.encode()), TEXT])
    with Project.open(tmp_path / "q.db") as proj:
        with pytest.raises(InvalidInput, match="would expand to"):
            import_refi(proj.store, small, limits=ZipLimits(max_total_bytes=100))
        with pytest.raises(InvalidInput, match="entries"):
            import_refi(proj.store, small, limits=ZipLimits(max_members=1))
        assert _counts(proj) == (0, 0, 0, 0, 0)


def test_a_header_that_lies_about_the_size_does_not_help(tmp_path: Path) -> None:
    path = _zip(tmp_path / "a.qdpx", [("project.qde", GOOD.encode()), TEXT])
    with SafeArchive(path) as archive:
        archive._infos[TEXT[0]].file_size = 2  # as if the header declared 2 bytes
        with pytest.raises(InvalidInput, match=r"expands past its declared size|damaged"):
            archive.read(TEXT[0])


def test_broken_archives_give_a_clear_error_and_change_nothing(tmp_path: Path) -> None:
    good = _zip(tmp_path / "good.qdpx", [("project.qde", GOOD.encode()), TEXT]).read_bytes()
    truncated = tmp_path / "truncated.qdpx"
    truncated.write_bytes(good[: len(good) // 2])
    err = _refused(tmp_path, truncated, "not a readable ZIP")
    assert "truncated.qdpx" in str(err) and err.hint
    corrupt = tmp_path / "corrupt.qdpx"
    data = bytearray(good)
    offset = data.index(b"project.qde") + len("project.qde") + 5  # inside the compressed XML
    data[offset] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    _refused(tmp_path, corrupt, "damaged|not well-formed|not a readable")
    no_xml = _zip(tmp_path / "empty.qdpx", [TEXT])
    _refused(tmp_path, no_xml, "no .qde project file")
    bad_xml = _zip(tmp_path / "badxml.qdpx", [("project.qde", GOOD[:-20].encode()), TEXT])
    err = _refused(tmp_path, bad_xml, "not well-formed XML")
    assert "badxml.qdpx" in str(err)
    not_project = _zip(
        tmp_path / "cb.qdpx", [("project.qde", b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>')]
    )
    _refused(tmp_path, not_project, "expected <Project>")
