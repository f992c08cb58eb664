"""``static``: model2vec static embeddings (a token-vector lookup and mean), about 100x MiniLM's speed.

The default model is ``$SIMAP_HOME/models/minilm-static``, distilled offline from the packaged
all-MiniLM-L6-v2 by ``simap models distill`` (:func:`simap.embed.models.distill_static`). When it
is absent the backend raises :class:`BackendUnavailable` saying so; it never falls back to another
model. ``model`` also accepts any local model2vec directory, or a Hugging Face Hub name (for users
with internet). Needs ``pip install 'simap[static]'``.

``key`` is ``static:<directory name>:<sha1 of config.json and the weights, 12 hex>`` for a local
model, so re-distilling with other settings never reuses cached vectors; ``static:<hub name>`` for
a hub model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from simap.embed._common import (
    check_bool,
    check_int,
    check_texts,
    file_digest,
    hub_offline,
    looks_like_hub_name,
    require,
)
from simap.embed._registry import embedders
from simap.embed.base import l2_normalize
from simap.embed.models import STATIC_FILES, default_static_path, is_static_model_dir
from simap.errors import BackendUnavailable, InvalidInput, expected

_DEFAULT_MAX_LENGTH = 512


class StaticEmbedder:
    """model2vec static embeddings (default: MiniLM distilled by `simap models distill`); fast."""

    name: str = "static"
    cacheable: bool = True
    cache_worthy: bool = True
    """Measured (docs/benchmarks.md, issue 14): a warm disk-cache lookup of 100k sentences takes
    1.4 s against 21 s to embed them again, and filling the cache adds 1.9 s to the first run."""

    def __init__(
        self,
        *,
        model: str | os.PathLike[str] | None = None,
        normalize: bool = True,
        max_length: int | None = _DEFAULT_MAX_LENGTH,
    ) -> None:
        check_bool(normalize, name="normalize", backend=self.name)
        check_int(max_length, name="max_length", backend=self.name, allow_none=True)
        self.model = None if model is None else str(model)
        self.normalize = normalize
        self.max_length = max_length
        require("model2vec", extra="static", what="the 'static' embedder")
        self._target, self._local = _resolve(self.model)
        self._key: str | None = None
        self._m2v: Any = None
        self._table: np.ndarray | None = None

    # -- contract -------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        if self._key is None:
            if self._local:
                path = Path(self._target)
                digest = file_digest([path / "config.json", path / "model.safetensors"])[:12]
                key = f"static:{path.name}:{digest}"
            else:
                key = f"static:{self._target}"
            if self.max_length != _DEFAULT_MAX_LENGTH:
                key += f":max_length={self.max_length}"
            if not self.normalize:
                key += ":unnormalized"
            self._key = key
        return self._key

    def get_params(self) -> dict[str, Any]:
        return {"model": self.model, "normalize": self.normalize, "max_length": self.max_length}

    def fit(self, corpus: Sequence[str]) -> StaticEmbedder:
        check_texts(corpus, backend=self.name)
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts, backend=self.name)
        m2v = self._load()
        if not items:
            return np.zeros((0, int(m2v.dim)), dtype=np.float32)
        vecs = np.asarray(
            m2v.encode(
                items,
                show_progress_bar=False,
                max_length=self.max_length,
                normalize=self.normalize,
                use_multiprocessing=False,  # no worker processes inside a web server or a CLI
            ),
            dtype=np.float32,
        )
        # model2vec normalises in the stored dtype (often float16); redo it in float32.
        return l2_normalize(vecs) if self.normalize else np.ascontiguousarray(vecs)

    # -- extras ---------------------------------------------------------------------------------

    def embed_spans(
        self, texts: Sequence[str], owner: Sequence[int], spans: Sequence[tuple[int, int]]
    ) -> np.ndarray:
        """Vectors of sub-spans of ``texts``: row ``u`` is ``embed([texts[owner[u]][a:b]])`` for
        ``(a, b) = spans[u]``, with each text tokenized once instead of once per span.

        A static model's vector is the mean of its tokens' vectors, and the tokenizer splits words
        at whitespace and punctuation, so a span that starts and ends on such a boundary (the
        clauses and word windows of :mod:`simap.coding.units`) holds exactly the text's tokens
        whose offsets fall inside it. The arithmetic is model2vec's (a float32 sum in token
        order, the mean and its normalisation rounded to the model's dtype), so the rows equal
        :meth:`embed`'s bit for bit (tested). Spans of a text the tokenizer truncated, or not on
        token boundaries, are embedded as their own text.
        """
        items = check_texts(texts, backend=self.name)
        m2v = self._load()
        dim = int(m2v.dim)
        out = np.zeros((len(owner), dim), dtype=np.float32)
        if len(owner) == 0:
            return out
        own = np.asarray(owner, dtype=np.int64)
        sp = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        order = np.argsort(own, kind="stable")  # units grouped by text, in chunks of texts
        step = 1024
        bounds = np.searchsorted(own[order], np.arange(0, len(items) + step, step))
        fallback: list[np.ndarray] = []
        for c in range(len(bounds) - 1):
            units = order[bounds[c] : bounds[c + 1]]
            if len(units):
                first = c * step
                ok = self._span_vectors(
                    items[first : first + step], own[units] - first, sp[units], units, out
                )
                fallback.append(units[~ok])
        if self.normalize:
            out = l2_normalize(out)
        redo = np.concatenate(fallback) if fallback else np.zeros(0, np.int64)
        if len(redo):
            out[redo] = self.embed([items[own[u]][sp[u, 0] : sp[u, 1]] for u in redo])
        return out

    def _span_vectors(
        self, chunk: Sequence[str], local: np.ndarray, sp: np.ndarray, units: np.ndarray, out: np.ndarray
    ) -> np.ndarray:
        """Fill ``out[units]`` for spans ``sp`` of texts ``chunk[local]``; False where a span must
        be embedded on its own (truncated text, or an edge inside a token)."""
        m2v = self._m2v
        encodings = m2v.tokenizer.encode_batch(list(chunk), add_special_tokens=False)  # _fast has no offsets
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        ids = np.fromiter(
            chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=int(lengths.sum())
        )
        offsets = np.fromiter(
            chain.from_iterable(chain.from_iterable(e.offsets for e in encodings)),
            dtype=np.int64,
            count=2 * int(lengths.sum()),
        ).reshape(-1, 2)
        text_of = np.repeat(np.arange(len(chunk)), lengths)
        whole = np.ones(len(chunk), dtype=bool)  # the tokenizer saw the whole text
        if self.max_length is not None:
            chars = np.fromiter((len(t) for t in chunk), dtype=np.int64, count=len(chunk))
            whole = (lengths < self.max_length) & (chars <= self.max_length * m2v.median_token_length)
        base = np.searchsorted(text_of, np.arange(len(chunk) + 1))
        # tokens of a span: those of its text lying inside [a, b), found on text-major keys
        big = np.int64(1) << 32
        lo = np.searchsorted(text_of * big + offsets[:, 0], local * big + sp[:, 0], side="left")
        hi = np.maximum(
            lo, np.searchsorted(text_of * big + offsets[:, 1], local * big + sp[:, 1], side="right")
        )
        n_tok = len(ids)
        ends = np.r_[offsets[:, 1], 0]
        begins = np.r_[offsets[:, 0], 0]
        cut_left = (lo > base[local]) & (ends[np.maximum(lo - 1, 0)] > sp[:, 0])
        cut_right = (hi < base[local + 1]) & (begins[np.minimum(hi, n_tok)] < sp[:, 1])
        ok = whole[local] & ~cut_left & ~cut_right
        # model2vec drops unknown tokens before the mean (after the boundary checks above, which
        # see every token)
        keep = np.ones(n_tok, dtype=bool) if m2v.unk_token_id is None else ids != m2v.unk_token_id
        kept_before = np.r_[0, np.cumsum(keep)]
        counts = kept_before[hi] - kept_before[lo]
        filled = ok & (counts > 0)
        if filled.any():
            # the sum of each span's token vectors, in token order as model2vec adds them: a
            # sparse (span x vocabulary) matrix of token counts times the float32 token table
            from scipy import sparse

            lo_f, width = lo[filled], (hi - lo)[filled]
            starts = np.r_[0, np.cumsum(width)]
            positions = np.arange(starts[-1]) + np.repeat(lo_f - starts[:-1], width)
            positions = positions[keep[positions]]
            n_f = counts[filled]
            indptr = np.r_[0, np.cumsum(n_f)]
            tokens = ids[positions]
            table = self._table32()
            picks = sparse.csr_matrix(
                (np.ones(len(tokens), dtype=np.float32), tokens, indptr), shape=(len(n_f), table.shape[0])
            )
            sums = np.asarray(picks @ table, dtype=np.float32)
            dtype = m2v.embedding.dtype if m2v.embedding.dtype != np.int8 else np.dtype(np.float32)
            mean = (sums / counts[filled][:, None].astype(np.float32)).astype(dtype)
            if self.normalize:
                m32 = mean.astype(np.float32)
                mean = (m32 / (np.linalg.norm(m32, axis=1, keepdims=True) + 1e-32)).astype(dtype)
            out[units[filled]] = mean
        return ok

    def _table32(self) -> np.ndarray:
        """The token vectors as float32 (model2vec stores float16; converting is exact)."""
        table = self._table
        if table is None:
            emb = self._load().embedding
            table = np.ascontiguousarray(emb, dtype=np.float32)
            self._table = table
        return table

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def _load(self) -> Any:
        if self._m2v is not None:
            return self._m2v
        mod: Any = require("model2vec", extra="static", what="the 'static' embedder")
        where = f"local directory {self._target}" if self._local else f"the Hugging Face Hub ({self._target})"
        try:
            with hub_offline() if self._local else contextlib.nullcontext():
                self._m2v = mod.StaticModel.from_pretrained(
                    self._target, normalize=self.normalize, force_download=False
                )
        except Exception as exc:
            fix = (
                "re-create it with `simap models distill --force`"
                if self._local
                else "check your internet access, or pass a local model directory as model=..."
            )
            raise BackendUnavailable(
                f"could not load the 'static' model from {where}: {type(exc).__name__}: {exc}", hint=fix
            ) from exc
        return self._m2v

    def __repr__(self) -> str:
        return f"StaticEmbedder(model={self.model!r})"


def _resolve(model: str | None) -> tuple[str, bool]:
    """Return (what to load, whether it is a local directory)."""
    if model is None:
        path = default_static_path()
        if not is_static_model_dir(path):
            raise BackendUnavailable(
                f"the 'static' embedder's default model was not found at {path} "
                "(it is made on this machine, not downloaded).",
                hint="run `simap models distill` (needs pip install 'simap[distill]'), "
                "or pass model=<a model2vec directory or hub name>.",
            )
        return str(path), True
    path = Path(model).expanduser()
    if path.exists():
        if not is_static_model_dir(path):
            raise InvalidInput(
                expected(
                    "'static' model directory",
                    "a model2vec directory with " + ", ".join(STATIC_FILES),
                    str(path),
                ),
                field="model",
                hint="point model= at a directory written by `simap models distill` "
                "or by model2vec save_pretrained().",
            )
        return str(path.resolve()), True
    if looks_like_hub_name(model):
        return model, False
    raise InvalidInput(
        expected("'static' model", "an existing local directory or a Hugging Face Hub name", model),
        field="model",
        hint="run `simap models distill` and leave model unset, or fix the path.",
    )


embedders.register("static")(StaticEmbedder)
