"""Briefs: a diagnosis or a portfolio report as HTML, Markdown or PDF.

Every claim in a brief links to its evidence: the venture's own sentences and answers (``#E1``),
the peers' sentences (``#P1``) and the map statistics (``#stats``). HTML is one self-contained
file (inline CSS, no external resources, all user text escaped); PDF is the same HTML through
WeasyPrint (the ``pdf`` extra).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, PackageLoader
from pydantic import BaseModel

from simap.advise.models import Diagnosis, PortfolioReport
from simap.errors import BackendUnavailable, InvalidInput

Format = Literal["html", "md", "pdf"]
FORMATS: tuple[str, ...] = ("html", "md", "pdf")
KIND_TITLES = {
    "barrier": "Barriers you tackle",
    "design_principle": "Design principles you use",
    "challenge": "Ecosystem challenges you face",
}


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@lru_cache(maxsize=2)
def _environment(markdown: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("simap.advise", "templates"),
        autoescape=not markdown,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda v, digits=0: "–" if _nan(v) else f"{float(v):.{digits}%}"
    env.filters["num"] = lambda v, digits=2: "–" if _nan(v) else f"{float(v):.{digits}f}"
    env.filters["md"] = _md_escape
    env.filters["oneline"] = lambda v: " ".join(str(v or "").split())
    env.filters["grouped"] = _grouped
    return env


def _grouped(items: list[Any], attr: str) -> list[tuple[Any, list[Any]]]:
    """Group ``items`` by ``attr`` keeping first-seen order (Jinja's groupby sorts)."""
    groups: dict[Any, list[Any]] = {}
    for item in items:
        groups.setdefault(getattr(item, attr), []).append(item)
    return list(groups.items())


def _md_escape(value: Any) -> str:
    """Make user text safe inside Markdown: no raw HTML, no table or link syntax."""
    text = " ".join(str(value or "").split())
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(a, b)
    return text


def _template(model: BaseModel, fmt: str) -> str:
    kind = "diagnosis" if isinstance(model, Diagnosis) else "portfolio"
    if not isinstance(model, Diagnosis | PortfolioReport):
        raise InvalidInput(f"can only render a Diagnosis or a PortfolioReport; got {type(model).__name__}.")
    return f"{kind}.{'md' if fmt == 'md' else 'html'}.j2"


def render(model: Diagnosis | PortfolioReport, fmt: str = "html") -> str:
    """The brief as HTML or Markdown text."""
    if fmt not in ("html", "md"):
        raise InvalidInput(f"render format must be 'html' or 'md'; got {fmt!r}.", field="format")
    env = _environment(fmt == "md")
    text = env.get_template(_template(model, fmt)).render(r=model, kinds=KIND_TITLES)
    if fmt == "md":  # templates are generous with blank lines; keep at most one
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text


def to_pdf(html: str, path: str | Path) -> Path:
    """Write ``html`` as a PDF with WeasyPrint."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailable(
            "PDF briefs need WeasyPrint.", hint="install it with: pip install 'simap[pdf]'"
        ) from exc
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html).write_pdf(target)
    return target


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The brief format: ``fmt`` when given, else from the file suffix (.html, .md, .pdf)."""
    chosen = fmt or {".htm": "html", ".html": "html", ".md": "md", ".markdown": "md", ".pdf": "pdf"}.get(
        Path(path).suffix.lower()
    )
    if chosen not in FORMATS:
        raise InvalidInput(
            f"cannot tell the brief format of {str(path)!r}; expected a .html, .md or .pdf file"
            + (f", got format {fmt!r}" if fmt else "")
            + ".",
            field="out",
            hint="name the file .html, .md or .pdf",
        )
    return str(chosen)


def write_brief(model: Diagnosis | PortfolioReport, path: str | Path, fmt: str | None = None) -> Path:
    """Write the brief to ``path`` as HTML, Markdown or PDF (format from the suffix by default)."""
    chosen = format_of(path, fmt)
    if chosen == "pdf":
        return to_pdf(render(model, "html"), path)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(model, chosen), encoding="utf-8")
    return target
