"""Everything the full report shows, computed once from a landscape map (and, with a project, the
texts, the review log and a discovery run): :class:`ReportData`.

:func:`build_report_data` is pure (frames in, data out), so tests run it on hand-made frames;
:func:`collect_report_data` gathers the inputs from a :class:`simap.pipeline.Project`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from simap.codebook.schema import Codebook
from simap.maps import breakdown as bd
from simap.maps.analytics import LandscapeMap
from simap.maps.geo import country_coverage, unknown_countries
from simap.maps.network import (
    bipartite_network,
    communities_table,
    pattern_network,
    top_subgraph,
    venture_network,
)
from simap.progress import Progress, no_progress

MAX_NETWORK_NODES = 250
MIN_GROUP = 5


@dataclass
class ReportData:
    landscape: LandscapeMap
    codebook: Codebook
    meta: dict[str, Any] = field(default_factory=dict)
    kinds: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_region: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_country: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_sector: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_year: pd.DataFrame = field(default_factory=pd.DataFrame)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    countries: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown_countries: pd.DataFrame = field(default_factory=pd.DataFrame)
    venture_graph: nx.Graph = field(default_factory=nx.Graph)
    bipartite_graph: nx.Graph = field(default_factory=nx.Graph)
    pattern_graph: nx.Graph = field(default_factory=nx.Graph)
    communities: pd.DataFrame = field(default_factory=pd.DataFrame)
    discovery: Any = None
    review: dict[str, Any] = field(default_factory=dict)
    agreement: dict[str, Any] | None = None
    seed: int = 0

    def shown_network(self) -> nx.Graph:
        return top_subgraph(self.venture_graph, MAX_NETWORK_NODES)


def build_report_data(
    landscape: LandscapeMap,
    codebook: Codebook,
    *,
    text_vectors: Any | None = None,
    meta: dict[str, Any] | None = None,
    discovery: Any = None,
    review: dict[str, Any] | None = None,
    agreement: dict[str, Any] | None = None,
    seed: int = 0,
    network: bool = True,
) -> ReportData:
    graph = venture_network(landscape, text_vectors, seed=seed) if network else nx.Graph()
    return ReportData(
        landscape=landscape,
        codebook=codebook,
        meta=dict(meta or {}),
        kinds=bd.kind_prevalence(landscape, codebook),
        by_region=bd.prevalence_by(landscape, codebook, "region"),
        by_country=bd.prevalence_by(landscape, codebook, "country"),
        by_sector=bd.prevalence_by(landscape, codebook, "sector"),
        by_year=bd.prevalence_by(landscape, codebook, "year"),
        trends=bd.trends(landscape, codebook),
        countries=bd.country_counts(landscape, codebook),
        unknown_countries=unknown_countries(landscape.countries),
        venture_graph=graph,
        bipartite_graph=bipartite_network(landscape, codebook),
        pattern_graph=pattern_network(landscape, codebook),
        communities=communities_table(graph) if network else pd.DataFrame(),
        discovery=discovery,
        review=dict(review or {}),
        agreement=agreement,
        seed=seed,
    )


def venture_texts(documents: pd.DataFrame, ids: list[str]) -> list[str]:
    """One text per venture (its documents joined), in ``ids`` order."""
    joined = documents.groupby("venture_id")["text"].agg(lambda s: " ".join(map(str, s)))
    return [str(joined.get(v, "")) for v in ids]


def collect_report_data(
    project: Any,
    *,
    codebook: str | Codebook | None = None,
    min_score: float = 0.5,
    include_suggestions: bool = True,
    text_embedder: str | None = "tfidf",
    discovery: Any = None,
    gold: str | None = None,
    seed: int = 0,
    progress: Progress = no_progress,
) -> ReportData:
    """All report inputs from a project: the map, venture texts embedded with ``text_embedder``
    (``None``: link ventures by patterns only), the review summary and, with ``gold``, agreement.
    ``progress("report data", step, 4)``: map, text similarity, review and agreement, figures."""
    from simap.embed import get_embedder
    from simap.maps.provenance import review_summary
    from simap.store import repo

    progress("report data", 0, 4)
    book = project.current_codebook(codebook)
    landscape = project.build_map(codebook=book, min_score=min_score, include_suggestions=include_suggestions)
    progress("report data", 1, 4)
    vectors = None
    if text_embedder:
        ids = landscape.ventures["id"].astype(str).tolist()
        texts = venture_texts(repo.load_documents(project.store), ids)
        emb = get_embedder(text_embedder)
        if not getattr(emb, "cacheable", True):
            emb.fit(texts)
        vectors = emb.embed(texts)
    progress("report data", 2, 4)
    assignments = project.assignments(book)
    meta = project.report_meta(book, min_score, include_suggestions)
    meta["text_similarity"] = text_embedder or "none (patterns only)"
    agreement = None
    if gold:
        report = project.evaluate(
            gold, codebook=book, min_score=min_score, include_suggestions=include_suggestions
        )
        agreement = report.to_dict()
    progress("report data", 3, 4)
    data = build_report_data(
        landscape,
        book,
        text_vectors=vectors,
        meta=meta,
        discovery=discovery,
        review=review_summary(assignments, min_score=min_score, include_suggestions=include_suggestions),
        agreement=agreement,
        seed=seed,
    )
    progress("report data", 4, 4)
    return data


def strength(lift: float, q: float) -> str:
    """Words for a principle x barrier link."""
    if math.isnan(lift) or q >= 0.05:
        return "not significant" if not math.isnan(lift) else "no data"
    if lift >= 3:
        return "very strong"
    if lift >= 2:
        return "strong"
    return "moderate" if lift >= 1.3 else "weak"


def key_findings(data: ReportData) -> list[str]:
    """Plain-language sentences for the executive summary, each backed by a number in the report."""
    lm, book = data.landscape, data.codebook
    out: list[str] = []
    prev = lm.prevalence
    for kind in dict.fromkeys(c.kind for c in book.active_codes):
        sub = prev[prev["kind"] == kind].sort_values("share", ascending=False)
        if len(sub) and int(sub.iloc[0]["n"]) > 0:
            r = sub.iloc[0]
            out.append(
                f"The most common {kind.replace('_', ' ')} is {r.code_id} {r['name']}: {int(r.n)} ventures "
                f"({r.share:.0%}, 95% CI {r.ci_low:.0%}–{r.ci_high:.0%})."
            )
    cooc = lm.cooccurrence
    if len(cooc):
        sig = cooc[(cooc["q_value"] < 0.05) & (cooc["n_both"] > 0)].sort_values("lift", ascending=False)
        if len(sig):
            r = sig.iloc[0]
            out.append(
                f"{len(sig)} principle × barrier link(s) are significant at a 5% false discovery rate; the "
                f"strongest is {r.row} × {r.col} ({int(r.n_both)} ventures, lift {r.lift:.1f}, "
                f"q = {r.q_value:.2g})."
            )
        else:
            out.append("No principle × barrier link is significant at a 5% false discovery rate.")
    known = data.countries
    if len(known):
        top = known.head(3)
        cov = country_coverage(lm.countries)
        missing = (
            f" {cov['without_country']} of the {cov['ventures']} ventures ({cov['share_without']:.0%}) "
            "name no country."
            if cov["without_country"]
            else ""
        )
        out.append(
            f"Ventures name {len(known)} countries; most often "
            + ", ".join(f"{r.country} ({int(r.ventures)})" for r in top.itertuples())
            + "."
            + missing
        )
    if data.discovery is not None and getattr(data.discovery, "themes", None):
        themes = data.discovery.themes
        out.append(
            f"{len(themes)} emerging theme(s) recur in sentences the codebook does not explain, led by "
            f"“{themes[0].label}” ({themes[0].n_ventures} ventures)."
        )
    return out


__all__ = [
    "MAX_NETWORK_NODES",
    "ReportData",
    "build_report_data",
    "collect_report_data",
    "key_findings",
    "strength",
    "venture_texts",
]
