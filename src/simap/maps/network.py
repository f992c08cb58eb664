"""Networks of a landscape: ventures linked by shared patterns and by similar texts; communities;
the bipartite venture-pattern graph; a pattern co-occurrence graph; GraphML/GEXF export.

Venture similarity is ``w = pattern_weight * jaccard(codes) + (1 - pattern_weight) * cosine(text)``
(text vectors from any :mod:`simap.embed` backend, L2-normalised); each venture keeps its
``k`` strongest links with ``w >= min_weight`` (computed in row blocks, so 10,000 ventures fit in
memory). Communities: Louvain (networkx, seeded), so results are reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, expected
from simap.maps.analytics import LandscapeMap

GRAPH_FORMATS = ("graphml", "gexf")
BLOCK = 1024


def _dense(mat: Any) -> np.ndarray:
    return np.asarray(mat.toarray() if hasattr(mat, "toarray") else mat, dtype=np.float32)


def similarity_edges(
    codes: np.ndarray,
    text: np.ndarray | None,
    *,
    pattern_weight: float = 0.5,
    k: int = 5,
    min_weight: float = 0.2,
) -> list[tuple[int, int, float, float, float]]:
    """Top-``k`` links per row as ``(i, j, weight, jaccard, cosine)`` with ``i < j`` (deduplicated)."""
    if not 0.0 <= pattern_weight <= 1.0:
        raise InvalidInput(expected("pattern_weight", "a number between 0 and 1", pattern_weight))
    n = codes.shape[0]
    a = codes.astype(np.float32)
    sizes = a.sum(axis=1)
    w_text = 0.0 if text is None else 1.0 - pattern_weight
    w_code = 1.0 if text is None else pattern_weight
    edges: dict[tuple[int, int], tuple[float, float, float]] = {}
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        inter = a[start:stop] @ a.T
        union = sizes[start:stop, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        cos = np.clip(_dense(text[start:stop] @ text.T), 0.0, 1.0) if text is not None else np.zeros_like(jac)
        weight = w_code * jac + w_text * cos
        rows = np.arange(stop - start)
        weight[rows, rows + start] = -1.0
        kk = min(k, n - 1)
        if kk <= 0:
            continue
        top = np.argpartition(-weight, kk - 1, axis=1)[:, :kk]
        for r in range(stop - start):
            i = start + r
            for j in top[r]:
                w = float(weight[r, j])
                if w >= min_weight:
                    key = (min(i, int(j)), max(i, int(j)))
                    edges[key] = (w, float(jac[r, j]), float(cos[r, j]))
    return [(i, j, *vals) for (i, j), vals in sorted(edges.items())]


def venture_network(
    landscape: LandscapeMap,
    text_vectors: Any | None = None,
    *,
    pattern_weight: float = 0.5,
    k: int = 5,
    min_weight: float = 0.2,
    seed: int = 0,
) -> nx.Graph:
    """Ventures as nodes (name, country, sector, codes, community), links by shared patterns and
    text similarity (``text_vectors`` rows in ``landscape.ventures`` order, or ``None`` for
    patterns only). Node attribute ``community`` is the Louvain community index (largest = 0)."""
    ids = landscape.ventures["id"].astype(str).tolist()
    if text_vectors is not None and text_vectors.shape[0] != len(ids):
        raise InvalidInput(
            expected("text_vectors", f"one row per venture ({len(ids)})", f"{text_vectors.shape[0]} rows"),
            hint="embed the ventures' texts in landscape.ventures order",
        )
    codes = landscape.matrix.reindex(ids).to_numpy()
    graph = nx.Graph(name="ventures")
    code_ids = list(landscape.matrix.columns)
    countries = _country_names(landscape, ids)
    for rec, row in zip(landscape.ventures.to_dict("records"), codes, strict=True):
        present = [c for c, v in zip(code_ids, row, strict=True) if v]
        graph.add_node(
            str(rec["id"]),
            label=str(rec.get("name") or rec["id"]),
            country=countries.get(str(rec["id"]), ""),
            sector=_text(rec.get("sector")),
            codes=";".join(present),
            n_codes=len(present),
        )
    for i, j, w, jac, cos in similarity_edges(
        codes, text_vectors, pattern_weight=pattern_weight, k=k, min_weight=min_weight
    ):
        shared = [c for c, a, b in zip(code_ids, codes[i], codes[j], strict=True) if a and b]
        graph.add_edge(
            ids[i],
            ids[j],
            weight=round(w, 4),
            jaccard=round(jac, 4),
            cosine=round(cos, 4),
            shared=";".join(shared),
        )
    assign_communities(graph, seed=seed)
    return graph


def _text(value: Any) -> str:
    """A node attribute from a frame cell: "" for None/NaN (GraphML/GEXF never say "nan")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


def _country_names(landscape: LandscapeMap, ids: list[str]) -> dict[str, str]:
    """venture id -> its countries as the map names them, ";"-joined ("" when none is given)."""
    from simap.maps.geo import NOT_GIVEN

    geo = landscape.countries
    out: dict[str, list[str]] = {}
    for vid, name, raw in zip(geo["venture_id"], geo["country"], geo["raw"], strict=True):
        if name == NOT_GIVEN:
            continue
        label = _text(name if name != "(unknown)" else raw)
        if label:
            out.setdefault(str(vid), []).append(label)
    if geo.empty:  # a landscape built without the country table: the plain column
        vent = landscape.ventures
        if "country" in vent.columns:
            return {str(v): _text(c) for v, c in zip(vent["id"], vent["country"], strict=True)}
    return {v: ";".join(dict.fromkeys(out.get(v, []))) for v in ids}


def assign_communities(graph: nx.Graph, *, seed: int = 0) -> list[set[str]]:
    """Louvain communities (weighted, seeded), largest first; sets node attribute ``community``."""
    if graph.number_of_edges() == 0:
        comms: list[set[str]] = [{n} for n in graph.nodes]
    else:
        comms = [set(c) for c in nx.community.louvain_communities(graph, weight="weight", seed=seed)]
    comms.sort(key=lambda c: (-len(c), min(c)))
    for idx, members in enumerate(comms):
        for node in members:
            graph.nodes[node]["community"] = idx
    return comms


def bipartite_network(landscape: LandscapeMap, codebook: Codebook) -> nx.Graph:
    """Ventures and codes as the two node sets (``bipartite`` 0/1), an edge per present code
    (``score`` and ``status`` of the decisive assignment)."""
    graph = nx.Graph(name="ventures-patterns")
    for code in codebook.active_codes:
        graph.add_node(code.id, label=f"{code.id} {code.name}", kind=code.kind, bipartite=1, node_type="code")
    for rec in landscape.ventures.to_dict("records"):
        graph.add_node(
            str(rec["id"]), label=str(rec.get("name") or rec["id"]), bipartite=0, node_type="venture"
        )
    for rec in landscape.present.to_dict("records"):
        score = rec.get("score")
        graph.add_edge(
            str(rec["venture_id"]),
            str(rec["code_id"]),
            score=float(score) if score is not None and not pd.isna(score) else -1.0,
            status=str(rec.get("status")),
        )
    return graph


def pattern_network(landscape: LandscapeMap, codebook: Codebook, *, min_both: int = 1) -> nx.Graph:
    """Codes linked by the number of ventures showing both (``n_both``, ``lift``); node size = n."""
    matrix = landscape.matrix
    graph = nx.Graph(name="patterns")
    total = len(matrix)
    counts = matrix.sum(axis=0)
    for code in codebook.active_codes:
        graph.add_node(code.id, label=code.name, kind=code.kind, n=int(counts.get(code.id, 0)))
    ids = codebook.ids()
    both = matrix[ids].to_numpy(dtype=np.int64).T @ matrix[ids].to_numpy(dtype=np.int64)
    for i, a in enumerate(ids):
        for j in range(i + 1, len(ids)):
            nb = int(both[i, j])
            if nb >= min_both:
                na, nc = int(both[i, i]), int(both[j, j])
                lift = nb * total / (na * nc) if na and nc else float("nan")
                graph.add_edge(a, ids[j], n_both=nb, lift=round(lift, 4), weight=float(nb))
    return graph


def spring_positions(
    graph: nx.Graph, *, seed: int = 0, iterations: int = 60
) -> dict[str, tuple[float, float]]:
    """networkx spring layout scaled to [0, 1] in both axes (deterministic with ``seed``)."""
    if graph.number_of_nodes() == 0:
        return {}
    pos = nx.spring_layout(graph, seed=seed, iterations=iterations, weight="weight")
    xs = np.array([p[0] for p in pos.values()])
    ys = np.array([p[1] for p in pos.values()])
    span_x = float(xs.max() - xs.min()) or 1.0
    span_y = float(ys.max() - ys.min()) or 1.0
    return {
        str(n): ((float(p[0]) - float(xs.min())) / span_x, (float(p[1]) - float(ys.min())) / span_y)
        for n, p in pos.items()
    }


def top_subgraph(graph: nx.Graph, max_nodes: int) -> nx.Graph:
    """The ``max_nodes`` best-connected nodes (weighted degree, then id) and their links."""
    if graph.number_of_nodes() <= max_nodes:
        return graph
    degree = dict(graph.degree(weight="weight"))
    keep = sorted(graph.nodes, key=lambda n: (-degree[n], str(n)))[:max_nodes]
    return graph.subgraph(keep).copy()


def communities_table(graph: nx.Graph, *, top_codes: int = 3) -> pd.DataFrame:
    """Per community: size, its most frequent codes and up to 5 example ventures."""
    groups: dict[int, list[str]] = {}
    for node, data in graph.nodes(data=True):
        groups.setdefault(int(data.get("community", -1)), []).append(node)
    rows = []
    for idx in sorted(groups):
        members = sorted(groups[idx], key=lambda n: -graph.degree(n, weight="weight"))
        freq: dict[str, int] = {}
        for n in members:
            for c in filter(None, str(graph.nodes[n].get("codes", "")).split(";")):
                freq[c] = freq.get(c, 0) + 1
        top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:top_codes]
        rows.append(
            {
                "community": idx,
                "size": len(members),
                "top_codes": ", ".join(f"{c} ({n})" for c, n in top),
                "examples": "; ".join(str(graph.nodes[n].get("label", n)) for n in members[:5]),
            }
        )
    return pd.DataFrame(rows, columns=["community", "size", "top_codes", "examples"])


def write_graph(graph: nx.Graph, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``graph`` as GraphML or GEXF (format from ``fmt`` or the file suffix)."""
    target = Path(path)
    fmt = (fmt or target.suffix.lstrip(".")).lower()
    if fmt not in GRAPH_FORMATS:
        raise InvalidInput(
            expected("the graph format", f"one of {list(GRAPH_FORMATS)}", fmt),
            field="fmt",
            hint="name the file .graphml or .gexf, or pass fmt='graphml'",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    clean = nx.Graph(name=graph.graph.get("name", ""))
    for n, data in graph.nodes(data=True):
        clean.add_node(n, **{k: _attr(v) for k, v in data.items()})
    for a, b, data in graph.edges(data=True):
        clean.add_edge(a, b, **{k: _attr(v) for k, v in data.items()})
    if fmt == "graphml":
        nx.write_graphml(clean, target)
    else:
        nx.write_gexf(clean, target)
    return target


def _attr(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float | np.floating):
        return float(value) if not np.isnan(value) else -1.0
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Sequence):
        return ";".join(map(str, value))
    return str(value)


__all__ = [
    "GRAPH_FORMATS",
    "assign_communities",
    "bipartite_network",
    "communities_table",
    "pattern_network",
    "similarity_edges",
    "spring_positions",
    "top_subgraph",
    "venture_network",
    "write_graph",
]
