"""A disk embedding cache: Parquet shards keyed by model and text SHA-1.

:class:`ParquetEmbeddingCache` implements :class:`~simap.embed.cache.EmbeddingCache`. Vectors
live under one directory per model key::

    <project>.simap-cache/embeddings/<model-key-slug>/shard-<time>-<pid>-<random>.parquet

(next to a SQLite project file; for other databases under ``$SIMAP_HOME/projects/<url hash>/``,
see :func:`default_cache_dir`). Each shard has the columns ``text_hash`` (the 20 bytes of the
SHA-1) and ``vector`` (``float32`` x dim), row groups of ``ROWS_PER_GROUP`` rows, and the exact
model key in its schema metadata. Nothing is ever rewritten in place:

- ``put_many`` writes the vectors not yet cached as ONE new shard (a temporary file renamed into
  place, so a reader never sees half a shard and two processes appending at once never clash;
  both may cache the same text, which is harmless);
- ``get_many`` looks hashes up in an in-memory index (loaded lazily per model key from the
  ``text_hash`` columns only: 16 bytes per vector as sorted numpy arrays) and reads just the row
  groups that hold them; shards written by other processes are picked up on a miss;
- ``compact`` merges the shards of a model into one (run it when no other process is coding).

A shard that cannot be read raises :class:`~simap.errors.SimapError` naming the file; deleting
it is always safe (its vectors are computed again).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simap.errors import SimapError

ROWS_PER_GROUP = 4096
FORMAT_VERSION = "1"
_KEY_META = b"simap.model_key"
_PENDING_MAX = 200_000


def project_cache_dir(store: Any) -> Path:
    """The cache folder of a project: ``<project file>.simap-cache`` for a SQLite project file,
    else ``$SIMAP_HOME/projects/<hash of the database URL>``."""
    path = getattr(store, "path", None)
    if path is not None:
        return Path(path).with_name(Path(path).name + ".simap-cache")
    from simap.embed.models import simap_home

    url = str(getattr(store, "url", "") or "default")
    return simap_home() / "projects" / hashlib.sha1(url.encode()).hexdigest()[:12]


def default_cache_dir(store: Any) -> Path:
    """``embeddings`` in the :func:`project_cache_dir`."""
    return project_cache_dir(store) / "embeddings"


def key_slug(model_key: str) -> str:
    """A directory name for a model key: readable, and unique by a hash of the exact key."""
    from simap.ingest.mapping import slugify

    return f"{slugify(model_key)[:60] or 'model'}-{hashlib.sha1(model_key.encode()).hexdigest()[:10]}"


def _digests(hashes: Sequence[str]) -> np.ndarray:
    """``(n, 20)`` uint8 array of hex SHA-1 digests."""
    try:
        raw = b"".join(bytes.fromhex(h) for h in hashes)
    except ValueError:
        raw = b""
    if len(raw) != 20 * len(hashes):
        bad = next(h for h in hashes if len(h) != 40 or not all(c in "0123456789abcdefABCDEF" for c in h))
        raise SimapError(
            f"embedding cache keys must be SHA-1 hex digests (40 hex characters); got {bad!r}.",
            hint="key texts with simap.embed.text_hash(text)",
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 20)


def _prefix(digests: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each digest as uint64 (the index key; full digests are checked on read)."""
    return np.ascontiguousarray(digests[:, :8]).view("<u8").ravel()


def _fixed_binary(arr: Any) -> np.ndarray:
    """A pyarrow fixed_size_binary(20) array as an ``(n, 20)`` uint8 array."""
    arr = arr.combine_chunks() if hasattr(arr, "combine_chunks") else arr
    buf = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    return buf[arr.offset * 20 : (arr.offset + len(arr)) * 20].reshape(-1, 20)


@dataclass
class _Index:
    """Where each cached hash is: sorted uint64 prefixes with (shard, row), plus recent adds."""

    shards: list[Path] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="<u8"))
    shard_of: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    row_of: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    pending: dict[int, tuple[int, int]] = field(default_factory=dict)
    groups: dict[int, np.ndarray] = field(default_factory=dict)  # shard -> row-group start rows
    dim: int | None = None

    def add(self, shard: int, prefixes: np.ndarray) -> None:
        if len(prefixes) < 1000 and len(self.pending) < _PENDING_MAX:
            for row, p in enumerate(prefixes.tolist()):
                self.pending[p] = (shard, row)
            return
        self._merge(
            prefixes, np.full(len(prefixes), shard, np.int32), np.arange(len(prefixes), dtype=np.int32)
        )

    def _merge(self, keys: np.ndarray, shards: np.ndarray, rows: np.ndarray) -> None:
        if self.pending:
            pk = np.fromiter(self.pending.keys(), dtype="<u8", count=len(self.pending))
            loc = np.array(list(self.pending.values()), dtype=np.int32).reshape(-1, 2)
            keys = np.concatenate([keys, pk])
            shards = np.concatenate([shards, loc[:, 0]])
            rows = np.concatenate([rows, loc[:, 1]])
            self.pending = {}
        all_keys = np.concatenate([self.keys, keys])
        order = np.argsort(all_keys, kind="stable")
        self.keys = all_keys[order]
        self.shard_of = np.concatenate([self.shard_of, shards])[order]
        self.row_of = np.concatenate([self.row_of, rows])[order]

    def find(self, prefixes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query positions found, their shards, their rows)."""
        n = len(self.keys)
        pos = np.searchsorted(self.keys, prefixes)
        ok = pos < n
        hit = np.zeros(len(prefixes), dtype=bool)
        hit[ok] = self.keys[pos[ok]] == prefixes[ok]
        shard = np.full(len(prefixes), -1, dtype=np.int32)
        row = np.full(len(prefixes), -1, dtype=np.int32)
        shard[hit] = self.shard_of[pos[hit]]
        row[hit] = self.row_of[pos[hit]]
        if self.pending:
            for i in np.flatnonzero(~hit).tolist():
                loc = self.pending.get(int(prefixes[i]))
                if loc is not None:
                    hit[i] = True
                    shard[i], row[i] = loc
        found = np.flatnonzero(hit)
        return found, shard[found], row[found]

    def __len__(self) -> int:
        return len(self.keys) + len(self.pending)


class ParquetEmbeddingCache:
    """Embeddings on disk as Parquet shards, keyed by (model key, SHA-1 of the text).

    ``directory`` holds one sub-directory per model key (:func:`key_slug`). Use
    :meth:`for_store` for the directory of a project. Safe for several processes appending at
    once (each writes its own shard); see the module doc for compaction and corrupt shards.
    """

    def __init__(self, directory: str | Path, *, rows_per_group: int = ROWS_PER_GROUP) -> None:
        self.directory = Path(directory).expanduser()
        self.rows_per_group = max(1, int(rows_per_group))
        self._indexes: dict[str, _Index] = {}

    @classmethod
    def for_store(cls, store: Any) -> ParquetEmbeddingCache:
        """The cache of a project (:func:`default_cache_dir`)."""
        return cls(default_cache_dir(store))

    def model_dir(self, model_key: str) -> Path:
        return self.directory / key_slug(model_key)

    # -- index ----------------------------------------------------------------------------
    def _index(self, model_key: str, *, refresh: bool = False) -> _Index:
        index = self._indexes.get(model_key)
        if index is None:
            index = self._indexes[model_key] = _Index()
            refresh = True
        if refresh:
            folder = self.model_dir(model_key)
            names = sorted(p.name for p in folder.glob("shard-*.parquet")) if folder.is_dir() else []
            for name in names:
                if name not in index.known:
                    self._load_shard(model_key, index, folder / name)
        return index

    def _load_shard(self, model_key: str, index: _Index, path: Path) -> None:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
            meta = pf.schema_arrow.metadata or {}
            table = pf.read(columns=["text_hash"])
            digests = _fixed_binary(table.column("text_hash"))
            dim = int(pf.schema_arrow.field("vector").type.list_size)
            starts = np.cumsum([0] + [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)])
        except FileNotFoundError:
            return  # compacted away by another process meanwhile
        except Exception as exc:
            raise _corrupt(path, exc) from None
        stored_key = meta.get(_KEY_META, b"").decode("utf-8", "replace")
        if stored_key != model_key:
            raise SimapError(
                f"embedding cache shard {path} must hold vectors of model {model_key!r}; "
                f"got {stored_key or 'no model key'!r}.",
                hint=f"delete {path} (its vectors are computed again)",
            )
        if index.dim is not None and dim != index.dim:
            raise SimapError(
                f"embedding cache shards of {model_key!r} must all have one dimension; {path} has {dim}, "
                f"others {index.dim}.",
                hint=f"delete {path.parent} (its vectors are computed again)",
            )
        index.dim = dim
        shard = len(index.shards)
        index.shards.append(path)
        index.known.add(path.name)
        index.groups[shard] = starts
        index.add(shard, _prefix(digests))

    # -- the EmbeddingCache protocol ------------------------------------------------------
    def get_many(self, model_key: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        hashes = list(hashes)
        if not hashes:
            return {}
        digests = _digests(hashes)
        prefixes = _prefix(digests)
        index = self._index(model_key)
        found, shards, rows = index.find(prefixes)
        if len(found) < len(hashes):
            index = self._index(model_key, refresh=True)  # shards other processes wrote since
            found, shards, rows = index.find(prefixes)
        out: dict[str, np.ndarray] = {}
        for shard in np.unique(shards).tolist():
            sel = shards == shard
            vectors, stored = self._read_rows(index, shard, rows[sel])
            for q, vec, digest in zip(found[sel].tolist(), vectors, stored, strict=True):
                if np.array_equal(digest, digests[q]):  # the uint64 prefix matched; check all 20 bytes
                    out[hashes[q]] = vec
        return out

    def _read_rows(self, index: _Index, shard: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import pyarrow.parquet as pq

        path = index.shards[shard]
        starts = index.groups[shard]
        group_of = np.searchsorted(starts, rows, side="right") - 1
        groups = np.unique(group_of).tolist()
        try:
            table = pq.ParquetFile(path).read_row_groups(groups, columns=["text_hash", "vector"])
            vec_col = table.column("vector").combine_chunks()
            dim = int(vec_col.type.list_size)
            vectors = vec_col.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)
            digests = _fixed_binary(table.column("text_hash"))
        except Exception as exc:
            raise _corrupt(path, exc) from None
        # rows of the read groups, in order: local position = offset of its group + row in group
        sizes = np.array([starts[g + 1] - starts[g] for g in groups])
        base = dict(zip(groups, np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist(), strict=True))
        local = np.array([base[g] for g in group_of.tolist()], dtype=np.int64) + rows - starts[group_of]
        return vectors[local].astype(np.float32, copy=True), digests[local]

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not items:
            return
        hashes = list(items)
        digests = _digests(hashes)
        index = self._index(model_key)
        found, _, _ = index.find(_prefix(digests))
        new = np.ones(len(hashes), dtype=bool)
        new[found] = False  # already cached (by prefix: a full-digest clash of 64 bits is ~never)
        if not new.any():
            return
        keep = np.flatnonzero(new)
        vectors = np.stack([np.asarray(items[hashes[i]], dtype=np.float32).ravel() for i in keep.tolist()])
        dim = int(vectors.shape[1])
        if index.dim is not None and dim != index.dim:
            raise SimapError(
                f"vectors for {model_key!r} must have {index.dim} dimensions like the cached ones; "
                f"got {dim}.",
                hint="two models share a key: give them different keys, or delete "
                f"{self.model_dir(model_key)}",
            )
        kept = np.ascontiguousarray(digests[keep])
        table = pa.table(
            {
                "text_hash": pa.FixedSizeBinaryArray.from_buffers(
                    pa.binary(20), len(keep), [None, pa.py_buffer(kept.tobytes())]
                ),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim),
            }
        ).replace_schema_metadata({_KEY_META: model_key.encode(), b"simap.format": FORMAT_VERSION.encode()})
        folder = self.model_dir(model_key)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = folder / f".tmp-{name}"
        pq.write_table(table, tmp, row_group_size=self.rows_per_group, compression="none")
        os.replace(tmp, folder / name)
        index.dim = dim
        shard = len(index.shards)
        index.shards.append(folder / name)
        index.known.add(name)
        index.groups[shard] = np.array([*range(0, len(keep), self.rows_per_group), len(keep)], dtype=np.int64)
        index.add(shard, _prefix(kept))

    # -- maintenance ----------------------------------------------------------------------
    def model_keys(self) -> list[str]:
        """The model keys with shards in this cache."""
        import pyarrow.parquet as pq

        keys = []
        for folder in sorted(p for p in self.directory.glob("*") if p.is_dir()):
            first = next(iter(sorted(folder.glob("shard-*.parquet"))), None)
            if first is None:
                continue
            try:
                meta = pq.read_schema(first).metadata or {}
            except Exception as exc:
                raise _corrupt(first, exc) from None
            keys.append(meta.get(_KEY_META, b"").decode())
        return keys

    def compact(self, model_key: str | None = None) -> int:
        """Merge each model's shards into one (dropping duplicate hashes); returns the shards
        removed. Run it while no other process writes to this cache."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        removed = 0
        for key in [model_key] if model_key is not None else self.model_keys():
            folder = self.model_dir(key)
            shards = sorted(folder.glob("shard-*.parquet"))
            if len(shards) < 2:
                continue
            try:
                tables = [pq.read_table(p) for p in shards]
            except Exception as exc:
                raise SimapError(
                    f"embedding cache shards in {folder} must be readable to compact; got {exc}.",
                    hint="delete the damaged shard (its vectors are computed again)",
                ) from None
            table = pa.concat_tables(tables).combine_chunks()
            digests = _fixed_binary(table.column("text_hash"))
            _, first = np.unique(digests.view("S20").ravel(), return_index=True)
            table = table.take(pa.array(np.sort(first)))
            table = table.replace_schema_metadata(tables[0].schema.metadata)
            name = f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
            tmp = folder / f".tmp-{name}"
            pq.write_table(table, tmp, row_group_size=self.rows_per_group, compression="none")
            os.replace(tmp, folder / name)
            for p in shards:
                p.unlink(missing_ok=True)
                removed += 1
            self._indexes.pop(key, None)
        return removed

    def count(self, model_key: str) -> int:
        """Vectors indexed for ``model_key`` (duplicates across shards counted once each)."""
        return len(self._index(model_key, refresh=True))

    def clear(self, model_keys: Iterable[str] | None = None) -> None:
        """Delete the shards of ``model_keys`` (default: all)."""
        import shutil

        for key in list(model_keys) if model_keys is not None else self.model_keys():
            shutil.rmtree(self.model_dir(key), ignore_errors=True)
            self._indexes.pop(key, None)

    def __repr__(self) -> str:
        return f"ParquetEmbeddingCache({str(self.directory)!r})"


def _corrupt(path: Path, exc: BaseException) -> SimapError:
    return SimapError(
        f"embedding cache shard {path} must be a readable Parquet file; got an error reading it "
        f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}).",
        hint=f"delete {path} (its vectors are computed again on the next run)",
    )
