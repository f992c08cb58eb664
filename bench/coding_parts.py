"""The parts of zero-shot coding that the issue-14 speed work changed, old way against new way.

On the sentences of the 4,000 NTEE records and the 727 DPG ventures (../shared/data), static
embedder, default codebook:

* unit vectors: ``embed`` of every clause and window text, against ``embed_spans`` (one
  tokenization per sentence); the rows must be equal bit for bit;
* cues: every code's pattern on every sentence, against ``CueSet.unit_hits``; equal;
* evidence: ``predict`` with dicts then ``json.dumps``, against ``predict(evidence_json=True)``;
  equal text.

    PYTHONPATH=src python bench/coding_parts.py

Results go to bench/out/coding_parts.json with the date and machine.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd

import _common

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences() -> list[str]:
    out: list[str] = []
    for name, fields in (
        ("ntee_4000.jsonl", ("mission", "program")),
        ("dpg_ventures.jsonl", ("description",)),
    ):
        for line in _common.shared(name).read_text().splitlines():
            r = json.loads(line)
            for f in fields:
                if r.get(f):
                    out += [s for s in SENTENCE.split(r[f]) if s]
    return out


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - t0, 2)


def main() -> None:
    from simap.codebook import load
    from simap.coding.units import unit_spans
    from simap.coding.zeroshot import ZeroShotCoder
    from simap.embed import get_embedder

    texts = sentences()
    owner = [i for i, t in enumerate(texts) for _ in unit_spans(t)]
    spans = [s for t in texts for s in unit_spans(t)]
    emb = get_embedder("static")
    emb.embed(["warm up"])
    old_vecs, old_s = timed(
        lambda: emb.embed([texts[i][a:b] for i, (a, b) in zip(owner, spans, strict=True)])
    )
    new_vecs, new_s = timed(lambda: emb.embed_spans(texts, owner, spans))
    result: dict[str, object] = {
        "sentences": len(texts),
        "units": len(owner),
        "unit_vectors": {
            "embed_s": old_s,
            "embed_spans_s": new_s,
            "equal": bool((old_vecs == new_vecs).all()),
        },
    }
    book = load("social-innovation")
    coder = ZeroShotCoder(emb).fit(book)
    cues = coder.cues_

    def naive() -> np.ndarray:
        out = np.zeros((len(owner), len(cues.patterns)), dtype=np.float32)
        found = [[[m.span() for m in p.finditer(t)] if p else [] for p in cues.patterns] for t in texts]
        for u, (i, (a, b)) in enumerate(zip(owner, spans, strict=True)):
            for j, hits in enumerate(found[i]):
                out[u, j] = float(any(a <= s and e <= b for s, e in hits))
        return out

    old_hits, old_s = timed(naive)
    new_hits, new_s = timed(lambda: cues.unit_hits(texts, owner, spans))
    result["cues"] = {"per_pattern_s": old_s, "cue_set_s": new_s, "equal": bool((old_hits == new_hits).all())}
    seg = pd.DataFrame(
        {
            "venture_id": [f"v{i // 5:05d}" for i in range(len(texts))],
            "field": "description",
            "start": 0,
            "end": [len(t) for t in texts],
            "text": texts,
        }
    )
    dicts, predict_s = timed(lambda: coder.predict(seg))
    dumped, dumps_s = timed(lambda: [json.dumps(e) for e in dicts["evidence"]])
    stored, json_s = timed(lambda: coder.predict(seg, evidence_json=True))
    result["evidence"] = {
        "predict_dicts_s": predict_s,
        "json_dumps_s": dumps_s,
        "predict_json_s": json_s,
        "equal": dumped == stored["evidence_json"].tolist(),
    }
    path = _common.write_result("coding_parts", result)
    print(json.dumps(result, indent=1))
    print(f"written {path}")


if __name__ == "__main__":
    main()
