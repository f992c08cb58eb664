"""StaticEmbedder.embed_spans: each text tokenized once, the same vectors as embedding each span.

A tiny model2vec model (a WordPiece vocabulary of a few dozen tokens with seeded float16 vectors,
BERT normalizer and pre-tokenizer like the distilled MiniLM) is written to a temporary directory,
so these tests need model2vec but no distilled model and run in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simap.coding.units import unit_spans

model2vec = pytest.importorskip("model2vec", reason="model2vec not installed (pip install 'simap[static]')")

WORDS = " ".join(
    [
        "solar water pumps for small farm farmers in kenya a mobile app that connects rural women",
        "with buyers and open source software ngos health workers deliver care through community",
        "which help data the of to is are by cafe naive",
    ]
).split()
PIECES = ["##s", "##er", "##ing", "##holder", "##ed", "##ly"]
PUNCT = list(",.;:()-'\"!?–—&/")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from model2vec.model import StaticModel
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = ["[PAD]", "[UNK]", *dict.fromkeys(WORDS + PIECES + PUNCT)]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(vocab), 16)).astype(np.float16)
    path = tmp_path_factory.mktemp("tiny_static")
    StaticModel(vectors=vectors, tokenizer=tok, normalize=True).save_pretrained(path)
    return path


TEXTS = [
    "Solar water pumps for smallholder farmers in Kenya, and a mobile app that connects rural women.",
    "Open-source software for NGOs; health workers deliver care (through community data) which help farmers.",
    "CAFÉ naïve — women-led   farms\tin Kenya & the buyers / data!",
    "",
    "   ",
    "unknown zzz words qqq only",
    "a",
    "solar " * 40,
]


def _units(texts: list[str]) -> tuple[list[int], list[tuple[int, int]]]:
    owner: list[int] = []
    spans: list[tuple[int, int]] = []
    for i, text in enumerate(texts):
        found = unit_spans(text)
        owner += [i] * len(found)
        spans += found
    return owner, spans


@pytest.mark.parametrize("normalize", [True, False])
def test_spans_equal_embedding_each_span(tiny_model: Path, normalize: bool) -> None:
    from simap.embed.static import StaticEmbedder

    emb = StaticEmbedder(model=tiny_model, normalize=normalize)
    owner, spans = _units(TEXTS)
    got = emb.embed_spans(TEXTS, owner, spans)
    want = emb.embed([TEXTS[i][a:b] for i, (a, b) in zip(owner, spans, strict=True)])
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # bit for bit, not approximately


def test_spans_off_token_boundaries_and_truncated_texts_are_embedded_alone(tiny_model: Path) -> None:
    from simap.embed.static import StaticEmbedder

    emb = StaticEmbedder(model=tiny_model, max_length=8)
    texts = [
        "smallholder farmers in kenya",
        "solar water pumps for small farm farmers in kenya with buyers",
        "zzzsolar farmers",  # an unknown word: one [UNK] token, which model2vec drops
    ]
    owner = [0, 0, 0, 1, 1, 2, 2, 2]
    # mid-word cuts (also inside the unknown word, whose tail is a known word); a truncated text
    spans = [(0, 11), (2, 11), (0, 8), (0, len(texts[1])), (6, 17), (3, 16), (0, 16), (9, 16)]
    got = emb.embed_spans(texts, owner, spans)
    want = emb.embed([texts[i][a:b] for i, (a, b) in zip(owner, spans, strict=True)])
    np.testing.assert_array_equal(got, want)


def test_spans_in_any_order_and_many_chunks(tiny_model: Path) -> None:
    from simap.embed.static import StaticEmbedder

    emb = StaticEmbedder(model=tiny_model)
    texts = [TEXTS[k % 3] for k in range(2500)]  # more texts than one tokenizer chunk
    owner, spans = _units(texts)
    order = np.random.default_rng(1).permutation(len(owner))
    owner = [owner[k] for k in order]
    spans = [spans[k] for k in order]
    got = emb.embed_spans(texts, owner, spans)
    want = emb.embed([texts[i][a:b] for i, (a, b) in zip(owner, spans, strict=True)])
    np.testing.assert_array_equal(got, want)
    assert emb.embed_spans(texts, [], []).shape == (0, emb.dim)


def test_zeroshot_scores_the_same_through_spans_or_texts(tiny_model: Path) -> None:
    """The coder takes the span path when the embedder has one; results equal the text path."""
    import pandas as pd

    from simap.codebook import load
    from simap.coding.zeroshot import ZeroShotCoder
    from simap.embed.static import StaticEmbedder

    class TextsOnly:  # the same model without embed_spans
        def __init__(self, inner: StaticEmbedder) -> None:
            self.inner = inner
            self.name, self.key, self.cacheable = inner.name, inner.key, inner.cacheable

        def get_params(self) -> dict[str, object]:
            return self.inner.get_params()

        def fit(self, corpus: list[str]) -> TextsOnly:
            return self

        def embed(self, texts: list[str]) -> np.ndarray:
            return self.inner.embed(texts)

    book = load("social-innovation")
    segments = pd.DataFrame(
        {
            "venture_id": [f"v{k // 2}" for k in range(len(TEXTS))],
            "field": "description",
            "seq": [k % 2 for k in range(len(TEXTS))],
            "start": 0,
            "end": [len(t) for t in TEXTS],
            "text": TEXTS,
        }
    )
    spans = ZeroShotCoder(StaticEmbedder(model=tiny_model)).fit(book).predict(segments)
    texts = ZeroShotCoder(TextsOnly(StaticEmbedder(model=tiny_model))).fit(book).predict(segments)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(spans, texts)
