"""The grantmaker view: a portfolio of ventures against the whole landscape.

``portfolio(project, venture_ids)`` returns a :class:`PortfolioReport`:

* coverage: each code's share in the portfolio next to its share in the landscape;
* white space: barriers common in the landscape that few ventures answer with the principles
  that work against them (the recommended principles of :mod:`simap.advise.recommend`);
* under-served contexts: countries and sectors where the landscape has ventures facing barriers
  but the portfolio has none;
* funding opportunities: the ecosystem challenges (C1-C5), what a funder can pay for
  (``funding.yaml``) and the codebook's solutions;
* similar ventures outside the portfolio (when the index has a text index, :mod:`simap.advise.similar`):
  the ventures nearest by text to one of the portfolio's, best first, candidates to fund next.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simap.advise.landscape import AdviceIndex
from simap.advise.models import (
    ContextGap,
    CoverageRow,
    FundingOpportunity,
    PortfolioReport,
    SimilarVenture,
    WhiteSpace,
)
from simap.advise.recommend import recommend_principles
from simap.advise.solutions import solutions
from simap.defaults import DEFAULT_MIN_SCORE
from simap.errors import InvalidInput, NotFound
from simap.maps.geo import is_non_country, normalise_country, population

MAX_CONTEXTS = 12
MIN_POPULATION = 1_000_000
MAX_EVIDENCE = 3
N_SIMILAR_OUTSIDE = 10


@lru_cache(maxsize=1)
def funder_angles() -> dict[str, str]:
    text = resources.files("simap.advise").joinpath("funding.yaml").read_text(encoding="utf-8")
    return {str(k): " ".join(str(v).split()) for k, v in (yaml.safe_load(text) or {}).items()}


def read_ids(path: str | Path) -> list[str]:
    """Venture ids from a file: one per line (blank lines and ``#`` comments ignored) or CSV
    whose first column is the id (a header ``id`` is skipped)."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"venture list {p} does not exist.", hint="write one id per line")
    ids = []
    for line in p.read_text(encoding="utf-8").splitlines():
        item = line.split("#", 1)[0].split(",", 1)[0].strip().strip('"')
        if item and item.lower() != "id":
            ids.append(item)
    if not ids:
        raise InvalidInput("the venture list is empty.", source=str(p), hint="write one venture id per line")
    return ids


def _coverage(index: AdviceIndex, rows: list[int]) -> list[CoverageRow]:
    n_all, n_port = len(index.ids), len(rows)
    out = []
    for code in index.codebook.active_codes:
        col = index.column(code.id)
        n_l, n_p = int(col.sum()), int(col[rows].sum()) if rows else 0
        s_l, s_p = (n_l / n_all if n_all else 0.0), (n_p / n_port if n_port else 0.0)
        out.append(
            CoverageRow(
                code_id=code.id,
                kind=code.kind,
                name=code.name,
                n_portfolio=n_p,
                share_portfolio=s_p,
                n_landscape=n_l,
                share_landscape=s_l,
                ratio=s_p / s_l if s_l else None,
                ventures=[index.ids[r] for r in rows if col[r]],
            )
        )
    return out


def _white_space(index: AdviceIndex, rows: list[int]) -> list[WhiteSpace]:
    n_all = len(index.ids)
    in_port = np.zeros(n_all, dtype=bool)
    in_port[rows] = True
    out = []
    for b in index.kind_ids("barrier"):
        has_b = index.column(b)
        n_b = int(has_b.sum())
        if not n_b:
            continue
        recs = recommend_principles(index, [b])
        working = [r.code_id for r in recs if r.recommended]
        answered = np.zeros_like(has_b)
        if working:
            answered = has_b & index.matrix[:, [index.col_of[d] for d in working]].any(axis=1)
        n_ans = int(answered.sum())
        example_row = next(iter(np.flatnonzero(answered & ~in_port)), None)
        share_b = n_b / n_all
        out.append(
            WhiteSpace(
                barrier=b,
                name=index.codebook.code(b).name,
                n_landscape=n_b,
                share_landscape=share_b,
                working_principles=working,
                n_answered_landscape=n_ans,
                share_answered_landscape=n_ans / n_b,
                n_portfolio=int((has_b & in_port).sum()),
                n_answered_portfolio=int((answered & in_port).sum()),
                gap=share_b * (1.0 - n_ans / n_b),
                example=index.quote(int(example_row), b) if example_row is not None else None,
            )
        )
    return sorted(out, key=lambda w: -w.gap)


def _contexts(index: AdviceIndex, rows: list[int], dimension: str) -> list[ContextGap]:
    values = index.countries if dimension == "country" else index.sectors
    barrier_cols = [index.col_of[b] for b in index.kind_ids("barrier")]
    with_b = np.asarray(index.matrix[:, barrier_cols].any(axis=1))
    port = set(rows)
    n_l: Counter[str] = Counter()
    n_b: Counter[str] = Counter()
    n_p: Counter[str] = Counter()
    country = dimension == "country"
    for r, vals in enumerate(values):
        for v in set(_country_names(vals) if country else vals):
            n_l[v] += 1
            n_b[v] += int(with_b[r])
            n_p[v] += int(r in port)
    gaps = [
        ContextGap.model_validate(
            {
                "dimension": dimension,
                "value": v,
                "n_landscape": n_l[v],
                "n_with_barrier": n_b[v],
                "n_portfolio": 0,
                "population": population(v) if country else None,
            }
        )
        for v in n_l
        if n_p[v] == 0 and n_b[v] > 0
    ]
    if country:
        # relevance: peers facing barriers there, then population; a small territory (under
        # MIN_POPULATION people, or none known) is listed only when several peers work there
        gaps = [g for g in gaps if (g.population or 0) >= MIN_POPULATION or g.n_with_barrier >= 2]
    return sorted(gaps, key=lambda g: (-g.n_with_barrier, -g.n_landscape, -(g.population or 0), g.value))[
        :MAX_CONTEXTS
    ]


def _country_names(values: Sequence[str]) -> list[str]:
    """Country names as the map writes them (normalised; unknown names kept as written)."""
    out = []
    for v in values:
        if is_non_country(v):
            continue
        found = normalise_country(v)
        out.append(found.name if found is not None else v)
    return out


def _opportunities(index: AdviceIndex, rows: list[int]) -> list[FundingOpportunity]:
    angles = funder_angles()
    out = []
    port = set(rows)
    for c in index.kind_ids("challenge"):
        col = index.column(c)
        port_rows = [r for r in rows if col[r]]
        other_rows = [int(r) for r in np.flatnonzero(col) if int(r) not in port]
        quotes = [q for r in (port_rows + other_rows)[: MAX_EVIDENCE * 2] if (q := index.quote(r, c))]
        out.append(
            FundingOpportunity(
                code_id=c,
                name=index.codebook.code(c).name,
                funder_angle=angles.get(c, ""),
                n_portfolio=len(port_rows),
                n_landscape=int(col.sum()),
                evidence=quotes[:MAX_EVIDENCE],
                solutions=solutions(index.codebook, [c], index=index),
            )
        )
    return out


def similar_outside(index: AdviceIndex, rows: list[int], k: int = N_SIMILAR_OUTSIDE) -> list[SimilarVenture]:
    """Up to ``k`` ventures not in ``rows`` nearest by text to one of them (one index query per member,
    batched), each with the member it is nearest to; none when ``index`` has no text index."""
    text = index.text
    if text is None or k <= 0 or not rows:
        return []
    members = [index.ids[r] for r in rows if index.ids[r] in text.row_of]
    if not members:
        return []
    vectors = text.vectors[[text.row_of[m] for m in members]]
    best: dict[str, tuple[float, str]] = {}
    for member, found in zip(
        members, text.nearest_many(vectors, k, exclude=[index.ids[r] for r in rows]), strict=True
    ):
        for vid, sim in found:
            if vid not in best or sim > best[vid][0]:
                best[vid] = (sim, member)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
    return [
        index.similar(index.row_of[vid], sim, index.codes_of(index.row_of[member]), nearest_to=member)
        for vid, (sim, member) in ranked
    ]


def portfolio_report(
    index: AdviceIndex, venture_ids: Sequence[str], *, n_similar: int = N_SIMILAR_OUTSIDE
) -> PortfolioReport:
    """The report for ``venture_ids`` against an :class:`AdviceIndex` (see the module docstring);
    ``n_similar``: how many similar ventures outside the portfolio to list (needs ``index.text``)."""
    wanted = list(dict.fromkeys(str(v).strip() for v in venture_ids if str(v).strip()))
    if not wanted:
        raise InvalidInput("a portfolio needs at least one venture id; got none.", field="ventures")
    missing = [v for v in wanted if v not in index.row_of]
    found = [v for v in wanted if v in index.row_of]
    if not found:
        raise NotFound(
            f"none of the {len(wanted)} venture ids is in this project (e.g. {missing[:3]}).",
            hint="use the ids of the imported ventures (`simap export codes`)",
        )
    rows = [index.row_of[v] for v in found]
    notes = []
    if missing:
        notes.append(
            f"{len(missing)} id(s) are not in the project and were left out: {', '.join(missing[:10])}."
        )
    challenge_cols = [index.col_of[c] for c in index.kind_ids("challenge")]
    if challenge_cols and not index.matrix[:, challenge_cols].any():
        notes.append(
            "No ecosystem challenge (C1-C5) is evidenced on the map: descriptions rarely show them. "
            "Send grantees the intake questionnaire (`simap advise questionnaire`) to see them."
        )
    report = PortfolioReport(
        venture_ids=found,
        names={v: index.names[index.row_of[v]] for v in found},
        missing_ids=missing,
        n_portfolio=len(found),
        n_landscape=len(index.ids),
        coverage=_coverage(index, rows),
        white_space=_white_space(index, rows),
        countries=_contexts(index, rows, "country"),
        sectors=_contexts(index, rows, "sector"),
        opportunities=_opportunities(index, rows),
        similar_outside=similar_outside(index, rows, n_similar),
        notes=notes,
        map=index.info,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    n = 0
    for item in [w.example for w in report.white_space] + [
        e for o in report.opportunities for e in o.evidence
    ]:
        if item is not None:
            n += 1
            item.id = f"Q{n}"
    return report


def portfolio(
    project: Any,
    venture_ids: Sequence[str],
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    similar: bool = True,
    embedder: str | None = None,
) -> PortfolioReport:
    """A funder's portfolio against ``project``'s whole landscape: coverage, white space,
    under-served countries and sectors, the ecosystem challenges as funding opportunities, and
    (``similar``) the ventures outside it nearest by text, embedded with the project's embedder
    (the one of its latest coding run, or ``embedder``)."""
    index = AdviceIndex.from_project(project, min_score=min_score)
    if similar:
        from simap.advise.similar import project_embedder

        index.with_text(project, *project_embedder(project, index.codebook, min_score, embedder))
    return portfolio_report(index, venture_ids)
