from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simap.batches import SUGGESTION_COLUMNS
from simap.codebook import from_dict
from simap.coding import coders
from simap.coding.cues import CueSet, cue_pattern
from simap.coding.stage import CodeBatch, code_batch
from simap.coding.units import unit_spans
from simap.coding.zeroshot import ZeroShotCoder
from simap.errors import InvalidInput, NotFitted, UnknownBackend
from simap.executors import get_executor
from simap.ingest.segment import segment_documents

DOCS = pd.DataFrame(
    [
        {
            "venture_id": "a",
            "field": "description",
            "text": "Health workers collect survey data on mobile phones. The app shows the weather.",
        },
        {
            "venture_id": "b",
            "field": "description",
            "text": "A wiki of openly licensed lessons, written by volunteers, that anyone can reuse, adapt.",
        },
        {"venture_id": "c", "field": "description", "text": "We sell shoes."},
    ]
)


@pytest.fixture
def segments() -> pd.DataFrame:
    return segment_documents(DOCS)


def test_predict_one_row_per_venture_and_code(tiny_codebook, fake_embedder, segments) -> None:
    coder = ZeroShotCoder(fake_embedder).fit(tiny_codebook)
    out = coder.predict(segments)
    assert list(out.columns) == SUGGESTION_COLUMNS
    assert len(out) == 3 * 2
    assert out["score"].between(0, 1).all()
    by = out.set_index(["venture_id", "code_id"])["score"]
    assert by["a", "DATA"] > by["c", "DATA"]
    assert by["b", "OPEN"] > by["c", "OPEN"]


def test_evidence_points_into_the_document(tiny_codebook, fake_embedder, segments) -> None:
    out = ZeroShotCoder(fake_embedder).fit(tiny_codebook).predict(segments)
    texts = DOCS.set_index("venture_id")["text"]
    for vid, evidence in zip(out["venture_id"], out["evidence"], strict=True):
        assert 1 <= len(evidence) <= 2
        for ev in evidence:
            assert texts[vid][ev["start"] : ev["end"]] == ev["text"]
            if "phrase" in ev:
                ph = ev["phrase"]
                assert ev["start"] <= ph["start"] < ph["end"] <= ev["end"]
                assert texts[vid][ph["start"] : ph["end"]] == ph["text"]
    best = out.set_index(["venture_id", "code_id"]).loc[("a", "DATA"), "evidence"][0]
    assert "survey data" in best["text"]


def test_cues_raise_the_score(tiny_codebook, fake_embedder, segments) -> None:
    with_cues = ZeroShotCoder(fake_embedder, cue_weight=1.0).fit(tiny_codebook).predict(segments)
    without = ZeroShotCoder(fake_embedder, cue_weight=0.0).fit(tiny_codebook).predict(segments)
    key = (with_cues["venture_id"] == "a") & (with_cues["code_id"] == "DATA")
    assert with_cues.loc[key, "raw"].item() == pytest.approx(without.loc[key, "raw"].item() + 1.0, abs=1e-5)


def test_params_are_recorded(tiny_codebook, fake_embedder) -> None:
    coder = ZeroShotCoder(fake_embedder, threshold=0.7).fit(tiny_codebook)
    params = coder.get_params()
    json.dumps(params)
    assert params["threshold"] == 0.7 and params["embedder"] == fake_embedder.key
    assert coder.key == f"zeroshot:{fake_embedder.key}"


def test_errors(tiny_codebook, fake_embedder, segments) -> None:
    with pytest.raises(NotFitted):
        ZeroShotCoder(fake_embedder).predict(segments)
    with pytest.raises(InvalidInput, match="units"):
        ZeroShotCoder(fake_embedder, units="paragraphs").fit(tiny_codebook)
    thin = from_dict(
        {"name": "thin", "codes": [{"id": "X", "kind": "barrier", "name": "x", "definition": "d"}]}
    )
    with pytest.raises(InvalidInput, match="at least 2"):
        ZeroShotCoder(fake_embedder).fit(thin)
    with pytest.raises(UnknownBackend, match="zeroshot"):
        coders.get("nope")


def test_parallel_equals_serial(tiny_codebook, fake_embedder) -> None:
    rng = np.random.default_rng(1)
    words = ["survey", "data", "wiki", "volunteers", "weather", "phones", "lessons", "shoes", "field"]
    docs = pd.DataFrame(
        [
            {
                "venture_id": f"v{i:04d}",
                "field": "description",
                "text": ". ".join(" ".join(rng.choice(words, 6)).capitalize() for _ in range(3)) + ".",
            }
            for i in range(800)
        ]
    )
    seg = segment_documents(docs)
    assert len(seg) >= 2000
    coder = ZeroShotCoder(fake_embedder).fit(tiny_codebook)
    serial = coder.predict(seg)
    ids = list(pd.unique(seg["venture_id"]))
    parts = [ids[i : i + 100] for i in range(0, len(ids), 100)]
    batches = [CodeBatch(n, p, seg[seg["venture_id"].isin(set(p))]) for n, p in enumerate(parts)]
    parallel = pd.concat(get_executor("local", workers=2).map(code_batch, coder, batches))
    pd.testing.assert_frame_equal(
        serial.sort_values(["venture_id", "code_id"]).reset_index(drop=True),
        parallel.sort_values(["venture_id", "code_id"]).reset_index(drop=True),
    )


def test_unit_spans_cover_clauses_and_windows() -> None:
    text = (
        "An open platform, built with local partners, that lets nurses record visits and share data quickly"
    )
    spans = unit_spans(text)
    assert spans[0] == (0, len(text))
    pieces = [text[a:b] for a, b in spans]
    assert "built with local partners" in pieces or "local partners" in " ".join(pieces)
    assert all(p == p.strip() and p for p in pieces)
    assert unit_spans(text, "sentence") == [(0, len(text))]


def test_cue_patterns() -> None:
    pat = cue_pattern(["crowdsourc*", "open data", "co-design*"])
    assert pat is not None
    texts = ["Crowdsourced reports", "an open-data portal", "codesign", "Co-designed with users", "opendata"]
    assert [bool(pat.search(t)) for t in texts] == [True, True, False, True, False]
    hits = CueSet([["crowdsourc*", "open data", "co-design*"]]).hits(texts)
    assert hits[:, 0].tolist() == [1, 1, 0, 1, 0]
    assert cue_pattern([]) is None


CUE_TEXTS = [
    "Crowdsourced reports from CIVIC-TECH volunteers and community health workers (CHWs).",
    "an open-data portal; civic\ttech and\nhackathons",
    "İstanbul civic tech: Straße CROWDSOURCING, and ﬁnancial inclusion",  # lowercasing changes length
    "KELVIN \u212a and long-ſ letters: civic tech",  # IGNORECASE folds these; plain lowercase does not
    "open\x00data and civic tech",  # the separator the scan uses between texts
    "",
    "nothing to see here",
]


@pytest.mark.parametrize("name", ["social-innovation", "sdg", "ntee"])
def test_cue_set_finds_what_each_pattern_finds(name: str) -> None:
    """CueSet (one prefix-tree scan of all texts, then the texts with a match) gives the same
    matches as searching every text with every code's pattern."""
    from simap.codebook import load
    from simap.coding.units import unit_spans

    book = load(name)
    cues = CueSet([c.cues for c in book.active_codes] + [[]])  # a code with no cues too
    texts = CUE_TEXTS + [c.examples[0] for c in book.active_codes if c.examples]
    naive = {
        i: found
        for i, text in enumerate(texts)
        if any(found := [[m.span() for m in p.finditer(text)] if p else [] for p in cues.patterns])
    }
    assert cues.spans(texts) == naive
    each = [[float(bool(p and p.search(t))) for p in cues.patterns] for t in texts]
    assert cues.hits(texts).tolist() == each
    owner = [i for i, t in enumerate(texts) for _ in unit_spans(t)]
    spans = [s for t in texts for s in unit_spans(t)]
    want = np.zeros((len(owner), len(cues.patterns)), dtype=np.float32)
    for u, (i, (a, b)) in enumerate(zip(owner, spans, strict=True)):
        for j, found in enumerate(naive.get(i, [[]] * len(cues.patterns))):
            want[u, j] = float(any(a <= s and e <= b for s, e in found))
    np.testing.assert_array_equal(cues.unit_hits(texts, owner, spans), want)
    assert want.sum() > 0


def test_cue_set_pickles_and_handles_no_cues() -> None:
    import pickle

    cues = CueSet([["civic tech*"], []])
    again = pickle.loads(pickle.dumps(cues))
    assert again.hits(["Civic technology"]).tolist() == [[1.0, 0.0]]
    assert CueSet([[], []]).hits(["civic tech"]).tolist() == [[0.0, 0.0]]


def test_evidence_as_json_is_json_dumps_of_the_evidence(tiny_codebook, fake_embedder) -> None:
    """The store's path (evidence serialised from pieces on the worker) writes exactly the text
    that json.dumps gives for the evidence dicts: escapes, non-ASCII, phrases, float repr."""
    from simap.coding.stage import code_batch_for_store

    docs = pd.concat(
        [
            DOCS,
            pd.DataFrame(
                [
                    {
                        "venture_id": "d",
                        "field": "summary",
                        "text": 'Café "quotes" \\ back\tslash — survey data, by volunteers, with phones.',
                    }
                ]
            ),
        ]
    )
    seg = segment_documents(docs)
    coder = ZeroShotCoder(fake_embedder).fit(tiny_codebook)
    dicts = coder.predict(seg)
    text = coder.predict(seg, evidence_json=True)
    assert text["evidence_json"].tolist() == [json.dumps(e) for e in dicts["evidence"]]
    pd.testing.assert_frame_equal(dicts.drop(columns="evidence"), text.drop(columns="evidence_json"))
    assert any("phrase" in e for row in dicts["evidence"] for e in row)
    stored = code_batch_for_store(coder, CodeBatch(0, ["a", "b", "c", "d"], seg))
    pd.testing.assert_frame_equal(stored, text)
    empty = coder.predict(seg.iloc[:0], evidence_json=True)
    assert list(empty.columns) == list(text.columns) and len(empty) == 0
