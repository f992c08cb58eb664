from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simap.codebook import from_dict
from simap.discover.candidates import Discovery, candidate_code, promote, write_codebook
from simap.discover.ctfidf import class_tfidf, diversity, npmi, top_terms
from simap.discover.run import unexplained
from simap.discover.themes import ThemeModel
from simap.errors import InvalidInput, NotFound

TOPICS = {
    "water": [
        "Solar pumps bring clean water to rural villages {}.",
        "Water wells and pumps for villages {}.",
    ],
    "money": ["Mobile money lets farmers save and borrow {}.", "Savings groups use mobile money wallets {}."],
    "school": [
        "Tablets help pupils learn reading at school {}.",
        "Pupils learn reading with school tablets {}.",
    ],
}


def corpus() -> tuple[list[str], list[str]]:
    texts, vids = [], []
    for topic, templates in TOPICS.items():
        for i in range(6):
            texts.append(templates[i % 2].format(f"in region {i}"))
            vids.append(f"{topic}-{i}")
    return texts, vids


def test_class_tfidf_distinct_terms() -> None:
    texts, _ = corpus()
    labels = np.repeat([0, 1, 2], 6)
    scores, terms, classes = class_tfidf(texts, labels, ngram_range=(1, 1))
    tops = top_terms(scores, terms, 3)
    assert classes == [0, 1, 2]
    assert {"water", "pumps", "villages"} & set(tops[0])
    assert {"money", "mobile"} & set(tops[1])


def test_npmi_and_diversity_by_hand() -> None:
    docs = ["aa bb", "aa bb", "cc dd", "cc dd"]
    assert npmi([["aa", "bb"]], docs) == [pytest.approx(1.0)]
    assert npmi([["aa", "cc"]], docs) == [-1.0]
    # p(aa)=p(bb)=.5, p(aa,bb)=.25 -> pmi 0
    assert npmi([["aa", "bb"]], ["aa bb", "aa", "bb", "xx"]) == [pytest.approx(0.0)]
    assert diversity([["a", "b"], ["b", "c"]]) == pytest.approx(0.75)


def test_theme_model_is_reproducible(fake_embedder) -> None:
    texts, vids = corpus()
    a = ThemeModel(fake_embedder, n_themes=3, min_size=3, min_ventures=3, seed=7).fit(texts, vids)
    b = ThemeModel(fake_embedder, n_themes=3, min_size=3, min_ventures=3, seed=7).fit(texts, vids)
    assert [t.to_dict() for t in a.themes_] == [t.to_dict() for t in b.themes_]
    assert a.labels_.tolist() == b.labels_.tolist()
    assert a.themes_ and all(len(t.quotes) <= 3 for t in a.themes_)
    assert sum(t.size for t in a.themes_) <= len(texts)
    with pytest.raises(InvalidInput):
        ThemeModel(fake_embedder).fit(texts, vids[:-1])


def test_theme_model_finds_planted_topics() -> None:
    from simap.embed import get_embedder

    texts, vids = corpus()
    emb = get_embedder("tfidf").fit(texts)
    model = ThemeModel(emb, n_themes=3, min_size=3, min_ventures=3, seed=0).fit(texts, vids)
    groups = {frozenset(t.venture_ids) for t in model.themes_}
    assert groups == {frozenset(f"{k}-{i}" for i in range(6)) for k in TOPICS}


def test_unexplained_keeps_low_scoring_sentences() -> None:
    seg = pd.DataFrame(
        {
            "venture_id": ["a", "a", "b"],
            "field": ["d"] * 3,
            "seq": [0, 1, 0],
            "start": [0, 10, 0],
            "end": [9, 30, 20],
            "text": ["one two three four", "too short", "five six seven eight nine"],
        }
    )
    scores = np.array([[0.9, 0.1], [0.1, 0.1], [0.2, 0.25]])
    out = unexplained(seg, scores, ["X", "Y"], max_score=0.3)
    assert out["text"].tolist() == ["five six seven eight nine"]
    assert out["best_code"].tolist() == ["Y"] and out["best_score"].tolist() == [pytest.approx(0.25)]


def test_candidate_promote_and_roundtrip(tmp_path, fake_embedder, tiny_codebook) -> None:
    texts, vids = corpus()
    model = ThemeModel(fake_embedder, n_themes=3, min_size=3, min_ventures=3, seed=0).fit(texts, vids)
    from simap.discover.candidates import candidates

    found = Discovery(
        "tiny",
        tiny_codebook.version,
        18,
        18,
        0.3,
        model.get_params(),
        model.themes_,
        candidates(model.themes_),
    )
    path = found.save(tmp_path / "themes.json")
    back = Discovery.load(path)
    assert [t.to_dict() for t in back.themes] == [t.to_dict() for t in found.themes]
    code = candidate_code(back.themes[0])
    assert code.id == "EM1" and len(code.examples) >= 2 and code.kind == "emerging"
    new = promote(tiny_codebook, back, ["EM1", "1"], ids=["NEW1", "NEW2"])
    assert new.ids()[-2:] == ["NEW1", "NEW2"] and "emerging" in new.kinds
    assert new.version != tiny_codebook.version
    from simap.codebook import load

    again = load(write_codebook(new, tmp_path / "new.yaml"))
    assert again.version == new.version
    with pytest.raises(NotFound):
        promote(tiny_codebook, back, ["EM99"])
    with pytest.raises(InvalidInput, match="already"):
        promote(tiny_codebook, back, ["EM1"], ids=["DATA"])
    with pytest.raises(NotFound):
        Discovery.load(tmp_path / "missing.json")


def test_tiny_codebook_fixture_is_valid(tiny_codebook) -> None:
    assert from_dict(tiny_codebook.model_dump(mode="json")).version == tiny_codebook.version


MICRO_TOPICS = {
    "water": "solar pumps bring clean water wells to rural villages",
    "money": "mobile money wallets let farmers save borrow and repay loans",
    "school": "tablets help pupils learn reading and maths at school",
}
PLACES = ["kenya", "ghana", "peru", "nepal", "chad", "laos", "fiji", "oman", "mali", "cuba"]


def micro_corpus() -> tuple[list[str], list[str]]:
    """300 varied sentences on three topics (ten ventures each) plus six on an odd topic from
    one venture, which no theme may keep (fewer than three ventures)."""
    texts, vids = [], []
    for topic, base in MICRO_TOPICS.items():
        words = base.split()
        for i in range(100):
            drop = i % len(words)
            kept = [w for j, w in enumerate(words) if j != drop]
            texts.append(" ".join(kept) + f" in {PLACES[i % 10]} {PLACES[(i // 10) % 10]}")
            vids.append(f"{topic}-{i % 10}")
    texts += [f"volcano seismology lava sensors warn before eruptions {p}" for p in PLACES[:6]]
    vids += ["odd-0"] * 6
    return texts, vids


def micro_model(emb, **kw):
    params = dict(n_themes=4, min_size=3, min_ventures=3, strategy="micro", n_micro=24)
    params |= dict(svd_sample=120, embed_batch=64, ctfidf_sample=40, seed=3)
    return ThemeModel(emb, **(params | kw))


def test_micro_strategy_finds_planted_topics() -> None:
    from simap.embed import get_embedder

    texts, vids = micro_corpus()
    emb = get_embedder("tfidf").fit(texts)
    model = micro_model(emb).fit(texts, vids)
    assert model.strategy_ == "micro" and model.n_micro_ <= 24
    assert model.labels_.shape == (len(texts),)
    groups = {frozenset(t.venture_ids) for t in model.themes_}
    assert groups == {frozenset(f"{k}-{i}" for i in range(10)) for k in MICRO_TOPICS}
    assert model.labels_[-6:].tolist() == [-1] * 6  # the one-venture theme is dropped
    assert set(model.labels_[:-6].tolist()) == {0, 1, 2}
    for theme in model.themes_:
        assert theme.size == 100 and len(theme.quotes) == 3 and 0 < theme.cohesion <= 1
        members = np.flatnonzero(model.labels_ == theme.index)
        assert {texts[i] for i in members} >= {q["text"] for q in theme.quotes}
    tops = {frozenset(t.terms[:6]) for t in model.themes_}
    assert any({"pumps", "water"} <= t for t in tops) and any({"money", "mobile"} <= t for t in tops)


def test_micro_strategy_is_deterministic(fake_embedder) -> None:
    texts, vids = micro_corpus()
    a = micro_model(fake_embedder, theme_clusterer="ward").fit(texts, vids)
    b = micro_model(fake_embedder, theme_clusterer="ward").fit(texts, vids)
    assert [t.to_dict() for t in a.themes_] == [t.to_dict() for t in b.themes_]
    assert a.labels_.tolist() == b.labels_.tolist() and a.labels_.shape == (len(texts),)
    c = micro_model(fake_embedder).fit(texts, vids)
    d = micro_model(fake_embedder).fit(texts, vids)
    assert [t.to_dict() for t in c.themes_] == [t.to_dict() for t in d.themes_]


def test_strategy_auto_threshold_and_validation(fake_embedder) -> None:
    model = ThemeModel(fake_embedder, micro_threshold=100)
    assert model.resolve_strategy(100) == "direct" and model.resolve_strategy(101) == "micro"
    assert ThemeModel(fake_embedder).resolve_strategy(50_000) == "direct"
    texts, vids = corpus()
    assert ThemeModel(fake_embedder, n_themes=3, min_size=3).fit(texts, vids).strategy_ == "direct"
    with pytest.raises(InvalidInput, match="strategy"):
        ThemeModel(fake_embedder, strategy="fast")
    with pytest.raises(InvalidInput, match="theme_clusterer"):
        ThemeModel(fake_embedder, theme_clusterer="dbscan")
    with pytest.raises(InvalidInput, match="n_micro"):
        ThemeModel(fake_embedder, n_micro=0)
