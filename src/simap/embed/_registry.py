"""The embedder registry (kept apart from ``__init__`` so backend modules can import it)."""

from __future__ import annotations

from simap.embed.base import Embedder
from simap.registry import Registry

embedders: Registry[Embedder] = Registry("embedders")
