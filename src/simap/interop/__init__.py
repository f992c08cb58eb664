"""REFI-QDA interoperability: codebooks (QDC) and projects (QDPX) in and out of NVivo, ATLAS.ti,
MAXQDA, QualCoder, Taguette and other QDA tools. See ``docs/interop.md``.

* :mod:`simap.interop.qdc`: codebooks as ``Codebook.xsd`` XML (and the ``<CodeBook>`` of a project);
* :mod:`simap.interop.qdpx`: projects as a ``.qdpx`` ZIP (``project.qde`` + ``sources/``), out and in;
* :mod:`simap.interop.positions`: the character-position conventions of the tools, detected per file;
* :mod:`simap.interop.safety`: defusedxml parsing and ZIP limits for untrusted files;
* ``xsd/``: the official MIT-licensed schemas (see ``xsd/NOTICE.md``).
"""

from __future__ import annotations

from pathlib import Path

from simap.codebook.schema import Codebook

CODEBOOK_FORMATS = ("qdc", "yaml", "json", "csv")


def write_codebook(book: Codebook, path: str | Path, fmt: str = "qdc") -> Path:
    """Write ``book`` as ``fmt`` (``qdc``: REFI-QDA; or ``yaml``, ``json``, ``csv``)."""
    from simap import codebook as cb
    from simap.errors import InvalidInput, expected

    target = Path(path)
    if fmt == "qdc":
        from simap.interop.qdc import write_qdc

        return write_qdc(book, target)
    if fmt not in CODEBOOK_FORMATS:
        raise InvalidInput(
            expected("the codebook format", f"one of {', '.join(CODEBOOK_FORMATS)}", fmt),
            field="format",
            hint="use --format qdc for NVivo, ATLAS.ti, MAXQDA, QualCoder",
        )
    text = cb.dump(book, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
