"""The Coder contract.

A coder is fitted to a codebook (and, for learning coders, to human decisions) and turns a
SEGMENTS batch into a SUGGESTIONS batch: one row per venture x active code with a calibrated
score in [0, 1], the raw score, and the best evidence spans. ``get_params()`` and ``key`` are
stored with every suggestion so that any code on the map can say which model put it there.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd

from simap.codebook.schema import Codebook


@runtime_checkable
class Coder(Protocol):
    name: str

    @property
    def key(self) -> str: ...

    def get_params(self) -> dict[str, Any]: ...

    def fit(self, codebook: Codebook) -> Coder: ...

    def predict(self, segments: pd.DataFrame) -> pd.DataFrame: ...
