"""``fake``: a deterministic hashed bag of words, for tests only.

Each lower-cased word token (``\\w+``) adds 1 to one of ``dim`` buckets chosen by a BLAKE2b hash
of the token; the row is then L2-normalised. No dependency, no model, the same vectors on every
machine and Python version. Texts sharing words get a positive cosine; it carries no meaning
beyond that, so never use it for real coding. ``delay`` (seconds per ``embed`` call) stands in for
a slow model in tests of long runs (progress, kill -9 and resume); it does not change the vectors
or the key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from simap.embed._common import check_int, check_texts
from simap.embed._registry import embedders
from simap.embed.base import l2_normalize

_TOKEN = re.compile(r"\w+")


class FakeEmbedder:
    """Deterministic hashed bag of words (64 dims) for tests; carries no meaning."""

    name: str = "fake"
    cacheable: bool = True

    def __init__(self, *, dim: int = 64, delay: float = 0.0) -> None:
        check_int(dim, name="dim", backend=self.name)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 60:
            from simap.errors import InvalidInput

            raise InvalidInput(
                f"embedder 'fake': delay must be a number of seconds in [0, 60]; got {delay!r}.",
                field="delay",
            )
        self.dim = dim
        self.delay = float(delay)

    @property
    def key(self) -> str:
        return f"fake:dim={self.dim}"

    def get_params(self) -> dict[str, Any]:
        return {"dim": self.dim} | ({"delay": self.delay} if self.delay else {})

    def fit(self, corpus: Sequence[str]) -> FakeEmbedder:
        check_texts(corpus, backend=self.name)
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts, backend=self.name)
        if self.delay:
            import time

            time.sleep(self.delay)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for row, text in enumerate(items):
            for token in _TOKEN.findall(text.lower()):
                digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        return l2_normalize(out)

    def __repr__(self) -> str:
        return f"FakeEmbedder(dim={self.dim})"


embedders.register("fake")(FakeEmbedder)
