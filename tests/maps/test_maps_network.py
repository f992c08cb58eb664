from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from simap.errors import InvalidInput
from simap.maps.analytics import build_map
from simap.maps.network import (
    bipartite_network,
    communities_table,
    pattern_network,
    similarity_edges,
    venture_network,
    write_graph,
)


def _lm(mk, codebook):
    ids = [f"v{i}" for i in range(8)]
    rows = [mk.row(v, "DP1") for v in ids[:4]] + [mk.row(v, "B2", kind="barrier") for v in ids[4:]]
    rows.append(mk.row("v0", "B1", kind="barrier"))
    return build_map(mk.ventures(ids), mk.assignments(rows), codebook)


def test_similarity_edges_patterns_only() -> None:
    codes = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    edges = similarity_edges(codes, None, k=1, min_weight=0.5)
    assert [(i, j) for i, j, *_ in edges] == [(0, 1), (2, 3)]
    with pytest.raises(InvalidInput):
        similarity_edges(codes, None, pattern_weight=2.0)


def test_venture_network_communities_and_exports(mk, codebook, tmp_path) -> None:
    lm = _lm(mk, codebook)
    text = np.eye(8, dtype=np.float32)
    graph = venture_network(lm, text, k=3, seed=1)
    assert graph.number_of_nodes() == 8
    comms = {graph.nodes[n]["community"] for n in graph}
    assert len(comms) == 2
    assert graph.nodes["v0"]["codes"] == "DP1;B1"
    again = venture_network(lm, text, k=3, seed=1)
    assert nx.utils.graphs_equal(graph, again)
    table = communities_table(graph)
    assert table["size"].sum() == 8
    for fmt in ("graphml", "gexf"):
        path = write_graph(graph, tmp_path / f"g.{fmt}")
        back = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        assert back.number_of_nodes() == 8
    with pytest.raises(InvalidInput, match="format"):
        write_graph(graph, tmp_path / "g.dot")
    with pytest.raises(InvalidInput):
        venture_network(lm, np.eye(3, dtype=np.float32))


def test_bipartite_and_pattern_network(mk, codebook) -> None:
    lm = _lm(mk, codebook)
    bi = bipartite_network(lm, codebook)
    assert bi.has_edge("v0", "DP1") and bi.nodes["DP1"]["bipartite"] == 1
    pn = pattern_network(lm, codebook)
    assert pn.edges["DP1", "B1"]["n_both"] == 1 and pn.nodes["B2"]["n"] == 4
