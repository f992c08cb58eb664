"""Helpers shared by the embedder backends (internal; not part of the public API)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from simap.errors import BackendUnavailable, InvalidInput, expected

_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def require(module: str, *, extra: str, what: str) -> ModuleType:
    """Import an optional dependency or raise :class:`BackendUnavailable` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailable(
            f"{what} needs the Python package {module!r}, which could not be imported ({exc}).",
            hint=f"pip install 'simap[{extra}]'",
        ) from exc


def require_installed(module: str, *, extra: str, what: str) -> None:
    """Like :func:`require` but without importing (for heavy packages imported on first use)."""
    if module in sys.modules:
        found = sys.modules[module] is not None
    else:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
    if not found:
        raise BackendUnavailable(
            f"{what} needs the Python package {module!r}, which is not installed.",
            hint=f"pip install 'simap[{extra}]'",
        )


def check_texts(texts: Sequence[str], *, backend: str) -> list[str]:
    """Return ``texts`` as a list, refusing a bare string and non-string items."""
    if isinstance(texts, str | bytes):
        raise InvalidInput(
            expected(f"texts given to the {backend!r} embedder", "a list of strings", _short(texts)),
            field="texts",
            hint="wrap a single text in a list: embed([text]).",
        )
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InvalidInput(
                expected(f"texts[{i}] given to the {backend!r} embedder", "a string", type(text).__name__),
                field="texts",
                hint="convert missing values to '' (or drop them) before embedding.",
            )
    return out


def check_int(value: object, *, name: str, backend: str, minimum: int = 1, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        want = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise InvalidInput(
            expected(f"parameter {name!r} of the {backend!r} embedder", want, value),
            field=name,
            hint=f"pass {name}={max(minimum, 1)} or larger.",
        )


def check_bool(value: object, *, name: str, backend: str) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(
            expected(f"parameter {name!r} of the {backend!r} embedder", "true or false", value),
            field=name,
            hint=f"pass {name}=True or {name}=False.",
        )


def looks_like_hub_name(name: str) -> bool:
    """True for ``org/name`` or ``name`` as used on the Hugging Face Hub (not a filesystem path)."""
    return bool(_HUB_NAME.match(name)) and not name.startswith((".", "~"))


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def file_digest(paths: Iterable[Path]) -> str:
    """SHA-1 over the names and contents of ``paths`` (in the order given)."""
    h = hashlib.sha1()
    for path in paths:
        h.update(path.name.encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            h.update(hashlib.file_digest(fh, "sha1").digest())
    return h.hexdigest()


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Forbid Hugging Face Hub traffic while loading a model from a local directory.

    Sets ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` and ``huggingface_hub``'s already-read flag for
    the duration of the block, then restores them, so hub names keep working afterwards.
    """
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved_env = {name: os.environ.get(name) for name in names}
    constants: Any = None
    saved_flag: Any = None
    try:
        constants = importlib.import_module("huggingface_hub.constants")
        saved_flag = constants.HF_HUB_OFFLINE
    except (ImportError, AttributeError):
        constants = None
    for name in names:
        os.environ[name] = "1"
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = saved_flag


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report and progress bars while a model loads."""
    try:
        tlog: Any = importlib.import_module("transformers.utils.logging")
    except ImportError:
        yield
        return
    verbosity = tlog.get_verbosity()
    bars = tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()


def param_signature(params: dict[str, Any]) -> str:
    """``a=1,b=x`` from a parameter dict, sorted by name (used inside ``key``)."""
    parts = []
    for name in sorted(params):
        value = params[name]
        if isinstance(value, list | tuple):
            value = "-".join(str(v) for v in value)
        parts.append(f"{name}={value}")
    return ",".join(parts)


def _short(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
