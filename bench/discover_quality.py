"""Emerging-pattern discovery: time, peak memory and topic quality next to BERTopic (2 cores).

1. ``dpg``: the whole `simap discover` on the 727 real DPG ventures (import, code, score every
   sentence, cluster the unexplained ones) in a fresh project.
2. ``ours`` / ``bertopic`` on N sentences (default 100,000): real sentences of the DPG and NTEE
   files (../shared/data), repeated to N. Both get the same sentences; ours embeds them with the
   static model and runs SVD + k-means + c-TF-IDF with ``dedupe=False`` (every repeat is
   embedded, the worst case); BERTopic (UMAP + HDBSCAN + c-TF-IDF, defaults) is given the same
   static embeddings, and its embedding time is the same as ours. Each run is a separate process,
   so peak memory is per run. Quality: NPMI of each topic's top 10 words over the same sentences
   (binary occurrence per sentence, our own code in simap.discover.ctfidf) and topic diversity
   (unique share of the top-10 words); both on unigrams for both methods.

    python bench/discover_quality.py [--n 100000] [--skip-bertopic]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common


def sentences(n: int) -> list[str]:
    from simap.ingest import read
    from simap.ingest.segment import segment_documents

    pool: list[str] = []
    for name, kw in (("dpg_ventures.jsonl", {}), ("ntee_4000.jsonl", {"skip_invalid": True})):
        batch = read(_common.shared(name), **kw)
        segs = segment_documents(batch.documents)
        pool += [t for t in segs["text"].astype(str) if len(t.split()) >= 4]
    unique = len(set(pool))
    out = (pool * (n // len(pool) + 1))[:n]
    return out if unique else []


def run_dpg() -> dict[str, object]:
    from simap.discover.ctfidf import diversity, npmi
    from simap.discover.run import discover
    from simap.pipeline import Project
    from simap.store import repo

    with tempfile.TemporaryDirectory() as tmp, Project.open(Path(tmp) / "d.db") as proj:
        proj.import_path(_common.shared("dpg_ventures.jsonl"))
        proj.code()
        t0 = time.perf_counter()
        result = discover(proj, seed=0, ngram_range=(1, 1))
        seconds = time.perf_counter() - t0
        texts = repo.load_segments(proj.store)["text"].tolist()
    topics = [t.terms for t in result.themes]
    return {
        "run": "dpg",
        "ventures": 727,
        "sentences": result.n_sentences,
        "unexplained": result.n_unexplained,
        "themes": len(topics),
        "seconds": round(seconds, 2),
        "peak_rss_mb": _common.peak_rss_mb(),
        "npmi": round(float(np.nanmean(npmi(topics, texts))), 4),
        "diversity": round(diversity(topics), 4),
        "labels": [t.label for t in result.themes],
    }


def run_method(method: str, n: int) -> dict[str, object]:
    from simap.discover.ctfidf import diversity, npmi
    from simap.embed import get_embedder

    texts = sentences(n)
    vids = [f"v{i % 9000}" for i in range(len(texts))]
    emb = get_embedder("static")
    t0 = time.perf_counter()
    vectors = emb.embed(texts)
    t_embed = time.perf_counter() - t0
    if method == "ours":
        from simap.discover.themes import ThemeModel

        class Given:
            key = "given"

            def embed(self, _texts: list[str]) -> np.ndarray:
                return vectors

        t1 = time.perf_counter()
        model = ThemeModel(Given(), dedupe=False, ngram_range=(1, 1), seed=0, min_ventures=1).fit(texts, vids)  # type: ignore[arg-type]
        t_cluster = time.perf_counter() - t1
        topics = [t.terms for t in model.themes_]
    else:
        from bertopic import BERTopic
        from sklearn.feature_extraction.text import CountVectorizer

        t1 = time.perf_counter()
        topic_model = BERTopic(
            vectorizer_model=CountVectorizer(stop_words="english"), calculate_probabilities=False
        )
        topic_model.fit_transform(texts, embeddings=np.asarray(vectors))
        t_cluster = time.perf_counter() - t1
        info = topic_model.get_topics()
        topics = [[w for w, _ in words][:10] for tid, words in sorted(info.items()) if tid != -1]
    scores = npmi(topics, texts)
    return {
        "run": method,
        "sentences": len(texts),
        "unique_sentences": len(set(texts)),
        "topics": len(topics),
        "embed_seconds": round(t_embed, 2),
        "cluster_seconds": round(t_cluster, 2),
        "total_seconds": round(t_embed + t_cluster, 2),
        "peak_rss_mb": _common.peak_rss_mb(),
        "npmi": round(float(np.nanmean(scores)), 4),
        "diversity": round(diversity(topics), 4),
        "examples": [" ".join(t[:5]) for t in topics[:8]],
    }


def child(args: list[str], timeout: float) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"run": args[0], "error": f"timed out after {timeout:.0f}s"}
    if proc.returncode != 0:
        return {"run": args[0], "error": proc.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--timeout", type=float, default=1800)
    ns = parser.parse_args()
    if ns.child:
        what = ns.child[0]
        res = run_dpg() if what == "dpg" else run_method(what, int(ns.child[1]))
        print(json.dumps(res))
        return
    results = [child(["dpg"], ns.timeout), child(["ours", str(ns.n)], ns.timeout)]
    if not ns.skip_bertopic:
        results.append(child(["bertopic", str(ns.n)], ns.timeout))
    payload = {"machine": _common.machine(), "n": ns.n, "results": results}
    path = _common.write_result("discover_quality", payload)
    print(json.dumps(payload, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
