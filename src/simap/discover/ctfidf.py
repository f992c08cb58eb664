"""Class-based TF-IDF (the BERTopic c-TF-IDF) and topic-quality measures (NPMI, diversity).

``c-TF-IDF(t, c) = tf(t, c) / |c| * log(1 + A / f(t))`` where ``tf(t, c)`` counts term ``t`` in
the concatenated sentences of cluster ``c``, ``|c|`` is the number of terms of ``c``, ``A`` the
average number of terms per cluster and ``f(t)`` the frequency of ``t`` over all clusters.

NPMI of a topic (Bouma 2009; Lau et al. 2014) is the mean over pairs of its top words of
``log(P(a, b) / (P(a) P(b))) / -log P(a, b)`` with probabilities over documents (sentences) as
the co-occurrence window, ``-1`` for pairs that never co-occur. Topic diversity (Dieng et al.
2020) is the share of unique words among the top words of all topics.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W\d_]+\b"


def make_vectorizer(ngram_range: tuple[int, int] = (1, 2), min_df: int = 2) -> CountVectorizer:
    return CountVectorizer(
        stop_words="english",
        ngram_range=ngram_range,
        min_df=min_df,
        token_pattern=TOKEN_PATTERN,
        lowercase=True,
        dtype=np.float32,
    )


def class_tfidf(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    ngram_range: tuple[int, int] = (1, 2),
    min_df: int = 2,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str], list[int]]:
    """(scores (n_classes, n_terms), terms, class labels in row order); labels < 0 are left out."""
    labels = np.asarray(labels)
    keep = labels >= 0
    classes = sorted(int(c) for c in set(labels[keep].tolist()))
    if not classes:
        return np.zeros((0, 0), dtype=np.float32), [], []
    vec = make_vectorizer(ngram_range, min_df=min(min_df, max(1, int(keep.sum()))))
    try:
        counts = vec.fit_transform([t for t, k in zip(texts, keep, strict=True) if k])
    except ValueError:  # empty vocabulary
        return np.zeros((len(classes), 0), dtype=np.float32), [], classes
    if weights is not None:
        counts = sparse.diags(np.asarray(weights, dtype=np.float32)[keep]) @ counts
    index = {c: i for i, c in enumerate(classes)}
    rows = np.array([index[int(c)] for c in labels[keep]])
    indicator = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))), shape=(len(classes), len(rows))
    )
    tf = np.asarray((indicator @ counts).todense(), dtype=np.float64)
    per_class = tf.sum(axis=1, keepdims=True)
    per_class[per_class == 0] = 1.0
    freq = tf.sum(axis=0)
    avg = float(tf.sum()) / len(classes)
    idf = np.log(1.0 + avg / np.maximum(freq, 1e-12))
    scores = (tf / per_class) * idf
    return scores.astype(np.float32), list(vec.get_feature_names_out()), classes


def top_terms(
    scores: np.ndarray, terms: Sequence[str], k: int = 10, *, dedupe: bool = True
) -> list[list[str]]:
    """The ``k`` best terms per class; with ``dedupe`` a unigram inside a better bigram (and a bigram
    whose words are both already chosen) is skipped."""
    out: list[list[str]] = []
    for row in scores:
        chosen: list[str] = []
        words: set[str] = set()
        for j in np.argsort(-row, kind="stable"):
            if row[j] <= 0 or len(chosen) >= k:
                break
            term = terms[j]
            parts = term.split()
            if dedupe and len(parts) == 1 and any(term in c.split() for c in chosen):
                continue
            if dedupe and len(parts) > 1 and all(p in words for p in parts):
                continue
            chosen.append(term)
            words.update(parts)
        out.append(chosen)
    return out


def npmi(topics: Sequence[Sequence[str]], documents: Sequence[str], *, top_n: int = 10) -> list[float]:
    """NPMI of each topic's first ``top_n`` words over ``documents`` (binary occurrence per
    document, same tokenizer and stop words as c-TF-IDF). Words absent from every document are
    left out; topics with fewer than 2 known words get NaN."""
    vocab = sorted({w.lower() for t in topics for term in t[:top_n] for w in term.split()})
    if not vocab:
        return [float("nan") for _ in topics]
    vec = CountVectorizer(vocabulary=vocab, token_pattern=TOKEN_PATTERN, lowercase=True, binary=True)
    occ = vec.transform(documents).tocsc().astype(np.float64)
    n_docs = max(occ.shape[0], 1)
    p_word = np.asarray(occ.sum(axis=0)).ravel() / n_docs
    index = {w: i for i, w in enumerate(vocab)}
    co = (occ.T @ occ).toarray() / n_docs
    scores = []
    for topic in topics:
        words = list(dict.fromkeys(w.lower() for term in topic[:top_n] for w in term.split()))[:top_n]
        ids = [index[w] for w in words if w in index and p_word[index[w]] > 0]
        if len(ids) < 2:
            scores.append(float("nan"))
            continue
        vals = []
        for a, b in itertools.combinations(ids, 2):
            pab = co[a, b]
            if pab <= 0:
                vals.append(-1.0)
            elif pab >= 1.0:
                vals.append(1.0)
            else:
                vals.append(float(np.log(pab / (p_word[a] * p_word[b])) / -np.log(pab)))
        scores.append(float(np.mean(vals)))
    return scores


def diversity(topics: Sequence[Sequence[str]], *, top_n: int = 10) -> float:
    """Share of unique words among the first ``top_n`` words of every topic (1 = no overlap)."""
    per_topic = [
        list(dict.fromkeys(w.lower() for term in t[:top_n] for w in term.split()))[:top_n] for t in topics
    ]
    words = [w for t in per_topic for w in t]
    return len(set(words)) / len(words) if words else float("nan")


__all__ = ["class_tfidf", "diversity", "make_vectorizer", "npmi", "top_terms"]
