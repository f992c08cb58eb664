"""Write ``demo.qdpx``: the demo corpus as a REFI-QDA project, for trying simap with NVivo, ATLAS.ti,
MAXQDA or QualCoder. Run ``python -m simap.demo.make_qdpx`` after changing the corpus.

It holds the 45 demo ventures (a Case each, with country, sector, year and website; one text
source per description and interview) and the gold codes of ``gold.jsonl`` as the codings, with
their evidence quotes as selections, by one user, "demo analyst". The same corpus gives the same
bytes, which a test checks.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from simap.demo import GOLD_PATH, VENTURES_PATH

CODER = "demo analyst"


def build_demo_qdpx(out: str | Path) -> Path:
    """Import the demo corpus and its gold codes into a scratch project and export it to ``out``."""
    from simap import codebook as cb
    from simap.pipeline import Project

    target = Path(out)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Project.open(Path(tmp) / "demo.db", actor="simap demo") as proj,
    ):
        proj.import_path(Path(str(VENTURES_PATH)))
        book = cb.load(cb.DEFAULT_CODEBOOK)
        proj.import_codes(Path(str(GOLD_PATH)), coder=CODER, codebook=book, partial=True)
        proj.set_working_codebook(book)
        proj.export_project(target, codebook=book, name="simap demo corpus", timestamps=False)
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(__file__).with_name("demo.qdpx")
    path = build_demo_qdpx(out)
    sys.stdout.write(f"written {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
