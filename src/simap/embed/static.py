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
