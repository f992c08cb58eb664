"""Settings of the review workbench, defined once (name, default, help) and passed explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """What ``create_app`` needs. Nothing is read at import time."""

    project: str = field(default="simap-project.db", metadata={"help": "SQLite file or database URL"})
    secret_key: str = field(
        default="",
        metadata={"help": "signs session cookies and CSRF tokens; empty: one kept in the project database"},
    )
    https: bool = field(default=False, metadata={"help": "served over https: cookies get the Secure flag"})
    session_hours: float = field(default=12.0, metadata={"help": "a log-in lasts this long"})
    title: str = field(default="simap workbench", metadata={"help": "shown in the page header"})
    min_score: float = field(default=0.5, metadata={"help": "machine suggestions count from this score"})
    upload_dir: Path | None = field(default=None, metadata={"help": "where uploads wait to be imported"})
    max_upload_mb: int = field(default=50, metadata={"help": "largest upload accepted"})
    embedder: str = field(
        default="", metadata={"help": "embedder of the Re-code button; empty: the last coding run's"}
    )
    migrate: bool = field(default=True, metadata={"help": "bring the database schema up to date on start"})

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``SIMAP_<NAME>`` environment variables, then ``overrides``."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"SIMAP_{f.name.upper()}")
            if raw is None:
                continue
            if f.type in ("bool", bool):
                values[f.name] = raw.lower() in ("1", "true", "yes", "on")
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.name == "upload_dir":
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def describe() -> list[tuple[str, str, str]]:
    """(name, default, help) of every setting, for docs and ``simap serve --help``."""
    return [(f.name, repr(f.default), f.metadata.get("help", "")) for f in fields(Settings)]
