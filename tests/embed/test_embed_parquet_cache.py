"""ParquetEmbeddingCache: round trip, reopen, concurrent appends, corrupt shards, and a re-code with
another codebook that does not call the embedder again."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest
from test_embed_cache import Counting as CountingFake

from simap.embed import EmbeddingCache, ParquetEmbeddingCache, embed_cached, text_hash
from simap.embed.parquet_cache import default_cache_dir, key_slug, project_cache_dir
from simap.errors import SimapError

KEY = "fake:dim=8"


def vectors(n: int, start: int = 0, dim: int = 8) -> dict[str, np.ndarray]:
    """The same text always gets the same vector (as from a real embedder)."""
    return {
        text_hash(f"text {i}"): np.random.default_rng(i).random(dim, dtype=np.float32)
        for i in range(start, start + n)
    }


def test_is_an_embedding_cache(tmp_path: Path) -> None:
    assert isinstance(ParquetEmbeddingCache(tmp_path), EmbeddingCache)


def test_round_trip_across_shards_and_row_groups(tmp_path: Path) -> None:
    cache = ParquetEmbeddingCache(tmp_path, rows_per_group=7)
    a, b = vectors(50), vectors(30, start=40)  # overlapping: 40..49 are not written twice
    cache.put_many(KEY, a)
    cache.put_many(KEY, b)
    both = a | b
    got = cache.get_many(KEY, [*reversed(both), text_hash("never")])
    assert set(got) == set(both)
    for h, v in both.items():
        np.testing.assert_array_equal(got[h], v)
        assert got[h].dtype == np.float32
    assert cache.count(KEY) == 70
    assert cache.get_many("other:key", list(both)) == {}
    assert cache.get_many(KEY, []) == {}


def test_survives_reopen_in_a_new_object(tmp_path: Path) -> None:
    first = vectors(20)
    ParquetEmbeddingCache(tmp_path).put_many(KEY, first)
    reopened = ParquetEmbeddingCache(tmp_path)
    got = reopened.get_many(KEY, list(first))
    assert all(np.array_equal(got[h], v) for h, v in first.items())
    shards = list((tmp_path / key_slug(KEY)).glob("shard-*.parquet"))
    assert len(shards) == 1


def test_survives_process_restart(tmp_path: Path) -> None:
    items = vectors(10)
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_put, args=(str(tmp_path), 0, 10))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    got = ParquetEmbeddingCache(tmp_path).get_many(KEY, list(items))
    assert all(np.array_equal(got[h], v) for h, v in items.items())


def _put(directory: str, start: int, n: int) -> None:
    ParquetEmbeddingCache(directory).put_many(KEY, vectors(n, start=start))


def test_concurrent_appends_from_processes_are_safe(tmp_path: Path) -> None:
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    procs = [ctx.Process(target=_put, args=(str(tmp_path), i * 50, 80)) for i in range(4)]  # overlapping
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ParquetEmbeddingCache(tmp_path)
    expected = {h: v for i in range(4) for h, v in vectors(80, start=i * 50).items()}
    got = cache.get_many(KEY, list(expected))
    assert len(got) == len(expected) == 230
    assert all(np.array_equal(got[h], expected[h]) for h in expected)


def test_sees_shards_another_process_wrote_after_loading(tmp_path: Path) -> None:
    reader = ParquetEmbeddingCache(tmp_path)
    reader.put_many(KEY, vectors(5))
    assert len(reader.get_many(KEY, list(vectors(5)))) == 5  # index loaded
    ParquetEmbeddingCache(tmp_path).put_many(KEY, vectors(5, start=100))
    assert len(reader.get_many(KEY, list(vectors(5, start=100)))) == 5


def test_compact_merges_shards_and_keeps_every_vector(tmp_path: Path) -> None:
    cache = ParquetEmbeddingCache(tmp_path, rows_per_group=16)
    parts = [vectors(30, start=i * 20) for i in range(5)]
    for part in parts:
        cache.put_many(KEY, part)
    assert cache.compact() == 5
    assert len(list((tmp_path / key_slug(KEY)).glob("shard-*.parquet"))) == 1
    reopened = ParquetEmbeddingCache(tmp_path)
    merged = {h: v for part in parts for h, v in part.items()}
    got = reopened.get_many(KEY, list(merged))
    assert len(got) == 110 and all(np.array_equal(got[h], merged[h]) for h in merged)
    assert reopened.model_keys() == [KEY]


def test_corrupt_shard_gives_a_clear_error(tmp_path: Path) -> None:
    ParquetEmbeddingCache(tmp_path).put_many(KEY, vectors(5))
    shard = next((tmp_path / key_slug(KEY)).glob("shard-*.parquet"))
    shard.write_bytes(b"not a parquet file at all")
    with pytest.raises(SimapError) as exc:
        ParquetEmbeddingCache(tmp_path).get_many(KEY, list(vectors(5)))
    assert str(shard) in str(exc.value) and "delete" in str(exc.value)


def test_shard_of_another_model_is_refused(tmp_path: Path) -> None:
    ParquetEmbeddingCache(tmp_path).put_many("model:a", vectors(3))
    src = next((tmp_path / key_slug("model:a")).glob("shard-*.parquet"))
    dest = tmp_path / key_slug(KEY)
    dest.mkdir()
    src.rename(dest / src.name)
    with pytest.raises(SimapError, match="must hold vectors of model"):
        ParquetEmbeddingCache(tmp_path).get_many(KEY, list(vectors(3)))


def test_other_dimension_is_refused_and_bad_keys_named(tmp_path: Path) -> None:
    cache = ParquetEmbeddingCache(tmp_path)
    cache.put_many(KEY, vectors(3))
    with pytest.raises(SimapError, match="8 dimensions"):
        cache.put_many(KEY, vectors(2, start=50, dim=4))
    with pytest.raises(SimapError, match="SHA-1 hex"):
        cache.get_many(KEY, ["not-a-hash"])


def test_temporary_files_of_a_crashed_writer_are_ignored(tmp_path: Path) -> None:
    cache = ParquetEmbeddingCache(tmp_path)
    cache.put_many(KEY, vectors(3))
    (tmp_path / key_slug(KEY) / ".tmp-shard-x.parquet").write_bytes(b"half")
    assert len(ParquetEmbeddingCache(tmp_path).get_many(KEY, list(vectors(3)))) == 3


def test_embed_cached_with_the_disk_cache(tmp_path: Path) -> None:
    emb = Counting()
    texts = ["a b", "c d", "a b"]
    first = embed_cached(emb, texts, ParquetEmbeddingCache(tmp_path))
    again = embed_cached(emb, texts, ParquetEmbeddingCache(tmp_path))
    assert emb.calls == [["a b", "c d"]]
    np.testing.assert_array_equal(first, again)


def test_default_directory_next_to_the_project_or_in_simap_home(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    class FileStore:
        path = tmp_path / "p.db"
        url = "sqlite:///p.db"

    class ServerStore:
        path = None
        url = "postgresql://db/simap"

    assert default_cache_dir(FileStore()) == tmp_path / "p.db.simap-cache" / "embeddings"
    assert project_cache_dir(FileStore()) == tmp_path / "p.db.simap-cache"
    monkeypatch.setenv("SIMAP_HOME", str(tmp_path / "home"))
    assert default_cache_dir(ServerStore()).parts[-4:-2] == ("home", "projects")


class Counting(CountingFake):
    """A fake embedder worth caching that counts the texts it embeds."""

    cache_worthy = True


def test_recode_with_another_codebook_does_not_embed_seen_sentences(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import simap.embed
    from simap.pipeline import Project

    made: list[Counting] = []

    def get_embedder(name: str, **params: object) -> Counting:
        made.append(Counting())
        return made[-1]

    monkeypatch.setattr(simap.embed, "get_embedder", get_embedder)
    data = tmp_path / "v.jsonl"
    lines = [
        {"id": f"v{i}", "name": f"V{i}", "description": f"We train {i} farmers. Women lead the co-op."}
        for i in range(30)
    ]
    data.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    with Project.open(tmp_path / "p.db") as project:
        project.import_path(data)
        project.code(codebook="sdg", embedder="counting", workers=1)
        first = {t for call in made[0].calls for t in call}
        sentences = set(repo_sentences(project))
        assert sentences <= first
        project.code(codebook="ntee", embedder="counting", workers=1)
        second = {t for call in made[1].calls for t in call}
        assert not (second & sentences), "sentences embedded again on the second run"
    assert (tmp_path / "p.db.simap-cache" / "embeddings").is_dir()


def repo_sentences(project) -> list[str]:  # type: ignore[no-untyped-def]
    from simap.store import repo

    return repo.load_segments(project.store)["text"].tolist()
