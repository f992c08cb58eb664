"""The whole loop on one project: import -> code -> map -> report/export -> evaluate.

``Project`` orchestrates the stages; it holds no stage logic of its own. The CLI and the web app
call these methods and only format their results.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simap import codebook as cb
from simap.codebook.schema import Codebook
from simap.defaults import DEFAULT_BATCH_VENTURES, DEFAULT_EMBEDDER, DEFAULT_MIN_SCORE
from simap.errors import InvalidInput, NotFound
from simap.store import repo
from simap.store.db import Store, open_store

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as long work advances."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class CodeResult:
    run_id: int
    ventures: int
    segments: int
    suggestions: int
    present: int
    codebook: str
    codebook_version: str
    coder: str
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    abstained: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


class Project:
    """One analysis project: a database plus the operations of the pipeline."""

    def __init__(self, store: Store, *, actor: str = "simap") -> None:
        self.store = store
        self.actor = actor

    @classmethod
    def open(cls, target: str | Path, *, actor: str = "simap") -> Project:
        return cls(open_store(target), actor=actor)

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ---------------------------------------------------------------------------
    def import_path(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        mapping: Any = None,
        skip_invalid: bool = False,
        strict: bool = False,
        progress: Progress = _no_progress,
        update: bool = False,
        source_name: str | None = None,
        chunk_rows: int | None = None,
    ) -> Any:
        """Read, segment and store ventures, streaming chunks of ``chunk_rows`` rows (default
        ``simap.ingest.core.CHUNK_ROWS``) into ONE transaction, so memory stays bounded and a bad
        row anywhere leaves the project unchanged. ``progress("import", rows, total)`` advances per
        chunk (``total`` is estimated from the bytes read until the end is reached).

        A REFI-QDA project (``.qdpx``, ``.qde``) goes to :meth:`import_refi` (``strict`` applies to
        it) and returns its :class:`~simap.interop.qdpx_import.RefiImportReport`; other files return
        :class:`~simap.store.repo.ImportStats`.

        A re-import of a file with another ``mapping`` than its earlier import that would
        overwrite non-empty fields is refused unless ``update`` (see :mod:`simap.ingest.reimport`).
        ``source_name`` is the name recorded and shown for the file (default: the path).
        """
        if format in ("qdpx", "qde") or (format is None and Path(path).suffix.lower() in (".qdpx", ".qde")):
            progress("import", 0, 1)
            report = self.import_refi(path, strict=strict)
            progress("import", 1, 1)
            return report
        from simap.ingest import reimport
        from simap.ingest.core import CHUNK_ROWS, iter_batches
        from simap.ingest.segment import segment_documents

        source = source_name or str(path)
        earlier = reimport.earlier_mapping(self.store, source)
        record = reimport.mapping_record(mapping)
        check = not update and earlier is not None and earlier != record
        progress("import", 0, 1)
        overwrites: list[reimport.FieldChange] = []
        n_overwrites = 0
        with repo.import_writer(self.store, actor=self.actor, source=source) as writer:
            stream = iter_batches(
                path,
                format=format,
                mapping=mapping,
                skip_invalid=skip_invalid,
                chunk_rows=chunk_rows or CHUNK_ROWS,
                seen=writer.seen,
            )
            for batch in stream:
                if check:  # what this chunk would overwrite, read before it is written
                    part = reimport.ImportPlan(
                        source=Path(source).name, mapping=record, earlier_mapping=earlier
                    )
                    reimport.plan(self.store, batch, source=source, conn=writer.session, into=part)
                    n_overwrites += len(part.overwrites)
                    overwrites = (overwrites + part.overwrites)[: reimport.SHOWN]
                writer.write(batch, segment_documents(batch.documents))
                total = stream.total_rows()
                progress("import", stream.rows_read, total if total is not None else stream.rows_read + 1)
            if check:  # raising here rolls the whole import back
                refused = reimport.ImportPlan(
                    source=Path(source).name, mapping=record, earlier_mapping=earlier, overwrites=overwrites
                )
                reimport.check_mapping(refused, update=update, overwrites=n_overwrites)
        reimport.remember_mapping(self.store, source, record)
        progress("import", stream.rows_read, max(stream.rows_read, 1))
        return writer.stats

    def plan_import(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        mapping: Any = None,
        skip_invalid: bool = False,
        source_name: str | None = None,
    ) -> Any:
        """What :meth:`import_path` would change, writing nothing (``simap import --dry-run``).

        The input is streamed in chunks; the plan lists every new id (memory grows with those)."""
        from simap.ingest import reimport
        from simap.ingest.core import iter_batches

        source = source_name or str(path)
        plan = reimport.ImportPlan(
            source=Path(source).name,
            mapping=reimport.mapping_record(mapping),
            earlier_mapping=reimport.earlier_mapping(self.store, source),
        )
        for batch in iter_batches(path, format=format, mapping=mapping, skip_invalid=skip_invalid):
            reimport.plan(self.store, batch, source=source, mapping=mapping, into=plan)
        return plan

    def import_refi(
        self, path: str | Path, *, strict: bool = False, codebook: str | Codebook | None = None
    ) -> Any:
        """Import a REFI-QDA project from NVivo, ATLAS.ti, MAXQDA, QualCoder, f4 or simap: sources
        become ventures, codings human codes by their user, memos are kept (``simap import X.qdpx``)."""
        from simap.interop.qdpx_import import import_refi

        book = cb.load(codebook) if isinstance(codebook, str) else codebook
        return import_refi(self.store, path, strict=strict, codebook=book, actor=self.actor)

    # -- code -----------------------------------------------------------------------------
    def make_coder(
        self,
        codebook: Codebook,
        *,
        embedder: str = DEFAULT_EMBEDDER,
        embedder_params: dict[str, Any] | None = None,
        corpus: list[str] | None = None,
        **coder_params: Any,
    ) -> Any:
        from simap.coding import coders
        from simap.embed import ParquetEmbeddingCache, get_embedder

        emb = get_embedder(embedder, **(embedder_params or {}))
        cache = ParquetEmbeddingCache.for_store(self.store) if getattr(emb, "cache_worthy", False) else None
        if corpus is None and embedder == "tfidf":  # a lexical model is fitted on the corpus
            corpus = repo.load_segments(self.store)["text"].tolist()
        coder = coders.create("zeroshot", embedder=emb, cache=cache, **coder_params)
        return coder.fit(codebook, corpus=corpus)

    def code(
        self,
        *,
        codebook: str | Codebook | None = None,
        embedder: str = DEFAULT_EMBEDDER,
        embedder_params: dict[str, Any] | None = None,
        coder_params: dict[str, Any] | None = None,
        coder: str = "zeroshot",
        workers: int = 1,
        batch_ventures: int = DEFAULT_BATCH_VENTURES,
        precision: float | None = None,
        executor: str = "local",
        scheduler: str | None = None,
        resume: bool = False,
        progress: Progress = _no_progress,
    ) -> CodeResult:
        """Machine-code every venture against a codebook and store the suggestions with provenance.

        ``codebook``: a Codebook, a built-in name or file, a project version (``NAME@VERSION``), or
        None for the project's working codebook (the last saved or coded one, else the default).
        The coded version becomes the working codebook; the run keeps the codes it found per
        venture (``stats["present_by_venture"]``, up to :data:`SNAPSHOT_MAX_VENTURES`) for
        :func:`simap.review.codebook_versions.diff`.

        ``coder``: a name of the ``coders`` registry (``simap backends``). ``embedder`` and
        ``embedder_params`` apply to coders that take an embedder (zeroshot).

        The run streams: ventures are read ``batch_ventures`` at a time in id order, coded by
        ``executor`` (``local`` or ``dask``; ``workers`` processes, ``scheduler`` a Dask address)
        and each batch's suggestions are committed with the run's progress, so memory holds a few
        batches whatever the size of the corpus. ``resume``: continue the newest interrupted or
        failed run of the same codebook version, coder and settings after its last committed
        batch; the end state is that of an uninterrupted run.

        ``precision``: a target precision (e.g. 0.8) for a calibrated coder: per code, suggestions
        below the score that reached it out of fold are stored as ``abstained`` (left for review,
        not counted on the map until accepted; see :func:`simap.coding.calibration.apply_precision`).
        """
        from simap.executors import get_executor
        from simap.review import codebook_versions

        if isinstance(batch_ventures, bool) or not isinstance(batch_ventures, int) or batch_ventures < 1:
            raise InvalidInput(
                f"batch_ventures must be a positive integer; got {batch_ventures!r}.",
                field="batch_ventures",
                hint="e.g. --batch 500",
            )
        book = self.resolve_codebook(codebook)
        t0 = time.perf_counter()
        corpus = repo.venture_fingerprint(self.store)
        if corpus["n"] == 0:
            raise NotFound("this project has no ventures to code.", hint="run `simap import FILE` first")
        version = repo.save_codebook(self.store, book, actor=self.actor)
        repo.mark_interrupted_runs(self.store)  # runs of killed processes are not "running"
        progress("load model", 0, 1)
        params_in = dict(coder_params or {})
        if coder == "zeroshot":
            params_in |= {"embedder": embedder, "embedder_params": embedder_params}
        machine = self.make_registered_coder(coder, book, params_in)
        coder_key = getattr(machine, "run_key", None) or machine.key
        progress("load model", 1, 1)
        if hasattr(machine, "progress"):
            machine.progress = progress
        precision_cut = self._precision_cut(machine, coder, precision)
        params = machine.get_params() | {"workers": workers, "batch_ventures": batch_ventures}
        if precision_cut is not None:
            # JSON has no infinity: a code that never reaches the target (abstains everywhere) is null
            params |= {
                "precision_target": precision,
                "precision_thresholds": {
                    c: (round(t, 4) if np.isfinite(t) else None) for c, t in precision_cut.items()
                },
            }
        run_id, progress_so_far = self._start_or_resume(
            resume, version=version, model=coder_key, params=params, corpus=corpus
        )
        run = _RunProgress(corpus=corpus, **progress_so_far)
        in_driver = bool(getattr(machine, "needs_documents", False))
        if in_driver:  # a coder reading whole texts (llm) is I/O-bound and runs its own concurrency
            pool = get_executor("local", workers=1)
        else:
            pool = get_executor(executor, workers=workers, **({"scheduler": scheduler} if scheduler else {}))
        run.executor = pool.describe() | {"requested": executor}
        try:
            if run.batches == 0:
                codebook_versions.keep_snapshot_of_last_run(self.store)  # before it is overwritten
            from simap.coding.stage import code_batch_for_store

            pending: deque[tuple[str, int, int]] = deque()

            def feed() -> Iterator[Any]:
                for batch in self._code_batches(machine, batch_ventures, after=run.last_id):
                    pending.append((batch.venture_ids[-1], len(batch.venture_ids), len(batch.segments)))
                    yield batch

            progress("code", run.ventures, corpus["n"])
            shipped = machine
            if pool.name != "local" and getattr(machine, "cache", None) is not None:
                # workers elsewhere do not see this machine's disk cache: they embed without it
                import copy

                shipped = copy.copy(machine)
                shipped.cache = None
            for suggestions in pool.map(code_batch_for_store, shipped, feed()):
                last_id, n_ventures, n_segments = pending.popleft()
                if precision_cut is not None and len(suggestions):
                    from simap.coding.calibration import apply_precision

                    suggestions = apply_precision(suggestions, precision_cut)
                run.add(suggestions, last_id=last_id, ventures=n_ventures, segments=n_segments)
                repo.save_machine_suggestions(
                    self.store,
                    suggestions,
                    coder=coder_key,
                    codebook_version=version,
                    run_id=run_id,
                    run_stats=run.stats(),
                )
                progress("code", run.ventures, corpus["n"])
            seconds = time.perf_counter() - t0
            stats = run.final(seconds)
            if corpus["n"] <= SNAPSHOT_MAX_VENTURES:
                stats[codebook_versions.PRESENT_KEY] = codebook_versions.snapshot_of_run(self.store, run_id)
            if hasattr(machine, "run_stats"):
                stats["coder"] = machine.run_stats()
            repo.finish_run(self.store, run_id, stats=stats)
            codebook_versions.set_working(self.store, version)
        except BaseException as exc:
            # the progress stays with the run: `simap code --resume` continues after its last batch
            repo.finish_run(self.store, run_id, status="failed", error=repr(exc), stats=run.stats())
            raise
        finally:
            pool.close()
        return CodeResult(
            run_id=run_id,
            ventures=run.ventures,
            segments=run.segments,
            suggestions=run.suggestions,
            present=run.present,
            abstained=run.abstained,
            codebook=book.name,
            codebook_version=version,
            coder=coder_key,
            seconds=seconds,
            params=params,
            stats=stats,
        )

    def _code_batches(self, machine: Any, size: int, *, after: str | None) -> Iterator[Any]:
        """CodeBatch after CodeBatch from the database, in venture id order after ``after``."""
        from simap.coding.stage import CodeBatch, needs

        documents, ventures = needs(machine)
        for index, ids in enumerate(repo.venture_id_pages(self.store, size, after=after)):
            yield CodeBatch(
                index=index,
                venture_ids=ids,
                segments=repo.load_segments(self.store, ids),
                documents=repo.load_documents(self.store, ids) if documents else None,
                ventures=repo.load_ventures(self.store, ids) if ventures else None,
            )

    @staticmethod
    def _precision_cut(machine: Any, coder: str, precision: float | None) -> dict[str, float] | None:
        if precision is None:
            return None
        if not hasattr(machine, "precision_thresholds"):
            raise InvalidInput(
                f"--precision needs a calibrated coder; coder {coder!r} has no calibration data.",
                field="precision",
                hint="run `simap train`, then `simap code --coder supervised --precision 0.8`",
            )
        cut: dict[str, float] = machine.precision_thresholds(precision)
        return cut

    def _start_or_resume(
        self, resume: bool, *, version: str, model: str, params: dict[str, Any], corpus: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """A new run (id, no progress), or with ``resume`` the newest coding run if it was
        interrupted or failed with the same codebook version, coder and settings on the same
        corpus: its id and how far it got."""
        if not resume:
            run_id = repo.start_run(
                self.store, kind="code", codebook_version=version, model=model, params=params
            )
            return run_id, {}
        from sqlalchemy import select

        from simap.store.schema import Run

        with self.store.session() as session:
            last = session.execute(
                select(Run).where(Run.kind == "code").order_by(Run.id.desc()).limit(1)
            ).scalar_one_or_none()
        if last is None or last.status not in RESUMABLE:
            state = "no coding run" if last is None else f"the newest coding run ({last.id}) is {last.status}"
            raise NotFound(
                f"there is no interrupted coding run to resume: {state}.",
                hint="run `simap code` without --resume",
            )
        done = dict((last.stats or {}).get("progress") or {})
        mismatch = [
            what
            for what, ours, theirs in (
                ("codebook version", version, last.codebook_version),
                ("coder", model, last.model),
                ("settings", _comparable(params), _comparable(last.params or {})),
                ("ventures", corpus, done.get("corpus", corpus)),
            )
            if ours != theirs
        ]
        if mismatch:
            raise InvalidInput(
                f"run {last.id} ({last.status}) cannot be resumed with these options: its "
                f"{', '.join(mismatch)} differ.",
                field="resume",
                hint=f"resume with the options of that run (codebook {last.codebook_version}, coder "
                f"{last.model}), or run `simap code` without --resume to start again",
            )
        repo.resume_run(self.store, int(last.id))
        return int(last.id), {k: done[k] for k in _RunProgress.COUNTERS if k in done}

    def make_registered_coder(
        self, coder: str, codebook: Codebook, coder_params: dict[str, Any] | None = None
    ) -> Any:
        """A coder of the ``coders`` registry made for this project and ready for ``codebook``:
        its factory gets the project's store (settings, caches, trained models) and the params."""
        from simap.coding import coders

        factory = coders.get(coder)  # an unknown name lists the valid ones
        return factory(store=self.store, codebook=codebook, **(coder_params or {}))

    def estimate_code(
        self,
        *,
        codebook: str | Codebook = cb.DEFAULT_CODEBOOK,
        coder: str = "llm",
        coder_params: dict[str, Any] | None = None,
    ) -> Any:
        """What coding every venture would cost with ``coder`` (a coder with ``estimate``, e.g. llm),
        without running it; cached answers count as free."""
        book = codebook if isinstance(codebook, Codebook) else cb.load(codebook)
        ventures = repo.load_ventures(self.store)
        if ventures.empty:
            raise NotFound("this project has no ventures to code.", hint="run `simap import FILE` first")
        machine = self.make_registered_coder(coder, book, coder_params)
        if not hasattr(machine, "estimate"):
            raise InvalidInput(
                f"coder {coder!r} has no cost estimate.", field="coder", hint="use --coder llm"
            )
        return machine.estimate(repo.load_segments(self.store), repo.load_documents(self.store))

    # -- human codes and learning -----------------------------------------------------------
    def import_codes(
        self,
        path: str | Path,
        *,
        coder: str,
        codebook: str | Codebook | None = None,
        partial: bool = False,
        skip_missing: bool = False,
    ) -> Any:
        """Load existing human coding as a named coder (``simap import-codes``)."""
        from simap.review.human import import_human_codes

        book = self.resolve_codebook(codebook)
        return import_human_codes(
            self.store, path, coder=coder, codebook=book, partial=partial, skip_missing=skip_missing
        )

    def train(
        self,
        *,
        codebook: str | Codebook | None = None,
        embedder: str = DEFAULT_EMBEDDER,
        coders: list[str] | None = None,
        params: dict[str, Any] | None = None,
        finetune: bool = False,
        progress: Progress = _no_progress,
    ) -> Any:
        """Train the learning coder on the human decisions (``simap train``).

        ``finetune=True`` first fine-tunes MiniLM on the labelled venture texts
        (:func:`simap.coding.finetune.finetune_classifier`, about 100 s for 450 ventures on 2
        cores); its per-code heads then take a quarter of the blend's score.
        """
        from simap.coding.training import train
        from simap.embed import get_embedder

        book = self._codebook_or_default(codebook)
        return train(
            self.store,
            book,
            get_embedder(embedder),
            coders=coders,
            params=params,
            finetune=finetune,
            progress=progress,
        )

    def maybe_retrain(
        self,
        *,
        every: int = 20,
        codebook: str | Codebook | None = None,
        embedder: str = DEFAULT_EMBEDDER,
        workers: int = 1,
    ) -> Any | None:
        """Retrain (with the options of the last training) and re-code when ``every`` new human
        decisions arrived since then."""
        from simap.coding.training import decisions_since_training, last_train_finetuned, last_train_params

        book = self._codebook_or_default(codebook)
        if decisions_since_training(self.store, book) < every:
            return None
        result = self.train(
            codebook=book,
            embedder=embedder,
            params=last_train_params(self.store, book),
            finetune=last_train_finetuned(self.store, book),
        )
        self.code(codebook=book, coder="supervised", workers=workers)
        return result

    def cross_validate(
        self,
        *,
        k: int = 5,
        codebook: str | Codebook | None = None,
        embedder: str = DEFAULT_EMBEDDER,
        sizes: list[int] | None = None,
        params: dict[str, Any] | None = None,
        progress: Progress = _no_progress,
    ) -> pd.DataFrame:
        """Cross-validated learning curve from the stored human labels (``simap evaluate --cv K``);
        ``params`` go to the learning coder, as in :meth:`train`."""
        from simap.coding.training import human_labels, learning_curve
        from simap.embed import get_embedder

        book = self._codebook_or_default(codebook)
        labels = human_labels(self.store, book)
        if labels.empty:
            raise NotFound(
                f"no human decisions on codebook {book.name!r} to cross-validate.",
                hint="run `simap import-codes FILE --coder NAME` or review some ventures",
            )
        ids = sorted(set(labels["venture_id"]))
        return learning_curve(
            book,
            repo.load_segments(self.store, ids),
            labels,
            get_embedder(embedder),
            sizes=sizes,
            folds=k,
            params=params,
            progress=progress,
            ventures=repo.load_ventures(self.store, ids),
        )

    def _codebook_or_default(self, codebook: str | Codebook | None) -> Codebook:
        if codebook is None:
            return repo.latest_coded_codebook(self.store) or cb.load(cb.DEFAULT_CODEBOOK)
        return self.resolve_codebook(codebook)

    def resolve_codebook(self, codebook: str | Codebook | None) -> Codebook:
        """A codebook by reference: see :func:`simap.review.codebook_versions.resolve` (None: the
        working codebook)."""
        from simap.review.codebook_versions import resolve

        return resolve(self.store, codebook)

    # -- map, report, export --------------------------------------------------------------
    def current_codebook(self, codebook: str | Codebook | None = None) -> Codebook:
        """``codebook``, else the one of the last coding run, else the working codebook an import
        (``simap import FILE.qdpx``, ``simap import-codebook``) or an edit set."""
        if isinstance(codebook, Codebook):
            return codebook
        if codebook is not None:
            return self.resolve_codebook(codebook)
        book = repo.latest_coded_codebook(self.store)
        if book is None:
            from simap.review.codebook_edit import SETTING
            from simap.store import browse

            setting = browse.get_setting(self.store, SETTING)
            if setting and setting.get("version"):
                return repo.load_codebook_version(self.store, str(setting["version"]))
            raise NotFound("this project has not been coded yet.", hint="run `simap code` first")
        return book

    def working_codebook(self) -> Codebook:
        """The codebook the workbench shows: last saved or imported, else last coded, else the default."""
        from simap.review.codebook_edit import working_codebook

        return working_codebook(self.store)

    def set_working_codebook(self, book: Codebook) -> str:
        """Store ``book`` as a version of this project and make it the working codebook."""
        from simap.review.codebook_edit import SETTING
        from simap.store import browse

        version = repo.save_codebook(self.store, book, actor=self.actor)
        browse.put_setting(self.store, SETTING, {"version": version})
        return version

    # -- REFI-QDA (NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette) -----------------------------
    def import_codebook(self, path: str | Path, *, strict: bool = False, name: str | None = None) -> Any:
        """Read a QDC codebook, store it as a version and make it the working codebook
        (``simap import-codebook``); returns the :class:`~simap.interop.qdc.QdcResult`."""
        from simap.interop.qdc import read_qdc

        result = read_qdc(path, strict=strict, name=name)
        self.set_working_codebook(result.codebook)
        return result

    def export_codebook(
        self, path: str | Path, *, fmt: str = "qdc", codebook: str | Codebook | None = None
    ) -> Path:
        """Write a codebook (default: the working codebook) as QDC, YAML, JSON or CSV."""
        from simap.interop import write_codebook

        if isinstance(codebook, Codebook):
            book = codebook
        else:
            book = cb.load(codebook) if codebook is not None else self.working_codebook()
        return write_codebook(book, path, fmt)

    def export_project(
        self,
        path: str | Path,
        *,
        fmt: str = "qdpx",
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        name: str | None = None,
        timestamps: bool = True,
        rejections: bool = True,
    ) -> Any:
        """Write the whole project as a REFI-QDA QDPX for NVivo, ATLAS.ti, MAXQDA, QualCoder
        (``simap export project``); returns :class:`~simap.interop.qdpx.ExportStats`."""
        from simap.errors import expected
        from simap.interop.qdpx import export_qdpx

        if fmt != "qdpx":
            raise InvalidInput(
                expected("the project export format", "qdpx", fmt), field="format", hint="use --format qdpx"
            )
        try:
            book = self.current_codebook(codebook)
        except NotFound:
            book = self.working_codebook()
        default_name = Path(self.store.url.split("/")[-1]).stem if "sqlite" in self.store.url else "simap"
        return export_qdpx(
            self.store,
            path,
            codebook=book,
            min_score=min_score,
            name=name or default_name,
            timestamps=timestamps,
            rejections=rejections,
        )

    def assignments(self, codebook: Codebook) -> pd.DataFrame:
        return repo.load_assignments(self.store, codebook)

    def build_map(
        self,
        *,
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        include_suggestions: bool = True,
    ) -> Any:
        from simap.maps.analytics import build_map

        book = self.current_codebook(codebook)
        return build_map(
            repo.load_ventures(self.store),
            self.assignments(book),
            book,
            min_score=min_score,
            include_suggestions=include_suggestions,
        )

    def report_meta(self, book: Codebook, min_score: float, include_suggestions: bool) -> dict[str, Any]:
        from sqlalchemy import select

        from simap.store.schema import Run

        with self.store.session() as session:
            run = session.execute(
                select(Run)
                .where(Run.kind == "code", Run.status == "done", Run.codebook_version == book.version)
                .order_by(Run.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return {
            "codebook": book.name,
            "codebook_version": book.version,
            "model": run.model if run else None,
            "params": run.params if run else {},
            "run_id": run.id if run else None,
            "coded_at": run.finished_at.isoformat(timespec="seconds") if run and run.finished_at else None,
            **(
                {"LLM data policy": run.params["data_policy"]}
                if run and isinstance(run.params, dict) and run.params.get("data_policy")
                else {}
            ),
            "min_score": min_score,
            "include_suggestions": include_suggestions,
            "database": self.store.url.split("@")[-1],
        }

    def write_report(
        self,
        path: str | Path,
        *,
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        include_suggestions: bool = True,
        title: str = "Social Innovation Map",
    ) -> Path:
        from simap.report.html import write_html_report

        book = self.current_codebook(codebook)
        landscape = self.build_map(
            codebook=book, min_score=min_score, include_suggestions=include_suggestions
        )
        return write_html_report(
            landscape,
            book,
            Path(path),
            title=title,
            meta=self.report_meta(book, min_score, include_suggestions),
        )

    def export_codes(
        self,
        path: str | Path,
        *,
        fmt: str = "jsonl",
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        include_suggestions: bool = True,
    ) -> int:
        from simap.report.export import export_codes

        book = self.current_codebook(codebook)
        return export_codes(
            repo.load_ventures(self.store),
            self.assignments(book),
            book,
            Path(path),
            fmt=fmt,
            min_score=min_score,
            include_suggestions=include_suggestions,
        )

    # -- evaluate -------------------------------------------------------------------------
    def present_codes(
        self, *, codebook: Codebook, min_score: float = DEFAULT_MIN_SCORE, include_suggestions: bool = True
    ) -> dict[str, set[str]]:
        from simap.maps.select import effective_codes

        present = effective_codes(
            self.assignments(codebook), min_score=min_score, include_suggestions=include_suggestions
        )
        out: dict[str, set[str]] = {vid: set() for vid in repo.load_ventures(self.store)["id"]}
        for vid, code in zip(present["venture_id"], present["code_id"], strict=True):
            out.setdefault(vid, set()).add(code)
        return out

    def machine_scores_against(
        self, gold_path: str | Path, *, codebook: str | Codebook | None = None
    ) -> pd.DataFrame:
        """The latest machine score of every gold venture x code: venture_id, code_id, score, truth."""
        from simap.review.agreement import load_gold

        book = self.current_codebook(codebook)
        gold = load_gold(gold_path)
        a = self.assignments(book)
        machine = a[(a["source"] == "machine") & a["venture_id"].isin(set(gold))]
        machine = machine.drop_duplicates(["venture_id", "code_id"], keep="last")
        out = machine[["venture_id", "code_id", "score"]].copy()
        out["truth"] = [c in gold[v] for v, c in zip(out["venture_id"], out["code_id"], strict=True)]
        return out.reset_index(drop=True)

    def evaluate(
        self,
        gold_path: str | Path,
        *,
        coder: str | None = None,
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        include_suggestions: bool = True,
        allow_same: bool = False,
    ) -> Any:
        """Agreement of a coder with the gold labels of ``gold_path``.

        ``coder``: ``None`` or ``"machine"`` for the newest coding run's suggestions (present from
        ``min_score``), a human coder's name for that coder's accepted codes, ``"gold:<set>"`` for
        a stored gold set. The project's merged map codes are never compared: they include the
        human decisions, so a gold file imported as a coder would agree with itself.

        Refuses (unless ``allow_same``) when the compared coder was imported from the gold file
        itself, and warns when its decisions equal the gold on every venture.
        """
        from simap.review.agreement import compare, identical, load_gold
        from simap.review.reliability import MACHINE, coder_codes, coder_label, coder_names

        book = self.current_codebook(codebook)
        gold = load_gold(gold_path)
        unknown = sorted({c for codes in gold.values() for c in codes} - set(book.ids()))
        if unknown:
            raise InvalidInput(
                f"gold labels use codes that codebook {book.name!r} does not have: {', '.join(unknown)}.",
                source=str(gold_path),
                field="codes",
                hint="evaluate with the codebook the gold labels were made with",
            )
        name = coder or MACHINE
        if name != MACHINE and name not in (known := coder_names(self.store)):
            raise NotFound(
                f"there is no coder {name!r} in this project.",
                hint=f"use one of {', '.join(known) or 'machine (after `simap code`)'}",
            )
        pred = coder_codes(
            self.store, book, name, min_score=min_score if include_suggestions else 1.01, ids=list(gold)
        )
        label = coder_label(self.store, name)
        if not allow_same and name != MACHINE and _imported_from(self.store, name, gold_path):
            raise InvalidInput(
                f"coder {name!r} was imported from the gold file itself, so it agrees with it "
                "perfectly by construction.",
                source=str(gold_path),
                field="coder",
                hint="compare the machine (leave out --coder) or another coder; to compare two coders "
                "use `simap evaluate --between A B`",
            )
        report = compare(gold, pred, book.ids())
        if report.n_items == 0:
            raise InvalidInput(
                f"none of the {len(gold)} gold ids were coded by {label}.",
                source=str(gold_path),
                field="id",
                hint="import the ventures the gold file labels and run `simap code`",
            )
        report.reference = f"gold file {Path(gold_path).name}"
        report.compared = label
        if identical(gold, pred):
            report.warnings.append(
                f"{label} makes exactly the gold's decisions on all {report.n_items} ventures: "
                "are they the same data?"
            )
        return report

    def agreement_between(
        self,
        a: str,
        b: str,
        *,
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> Any:
        """Agreement of coder ``b`` with coder ``a`` on the ventures both coded
        (``simap evaluate --between A B``); names as in :meth:`evaluate`."""
        from simap.review.agreement import identical
        from simap.review.reliability import _pair, agreement, coder_label

        book = self.current_codebook(codebook)
        report = agreement(self.store, book, a, b, min_score=min_score)
        if report.n_items == 0:
            raise InvalidInput(
                f"{a!r} and {b!r} have no venture in common.",
                field="between",
                hint="pick two coders who coded the same ventures",
            )
        report.reference = coder_label(self.store, a)
        report.compared = coder_label(self.store, b)
        ca, cb_, common = _pair(self.store, book, a, b, min_score, None)
        if identical({v: ca[v] for v in common}, {v: cb_[v] for v in common}):
            report.warnings.append(
                f"{a} and {b} make exactly the same decisions on all {report.n_items} ventures: "
                "are they the same data?"
            )
        return report


SNAPSHOT_MAX_VENTURES = 100_000
"""Runs over more ventures keep no per-venture snapshot in their stats (it would not fit in memory
or a JSON cell); the codebook-version diff then compares with the suggestions in the database."""
RESUMABLE = ("interrupted", "failed")
_VOLATILE_PARAMS = ("workers", "batch_ventures")  # may differ on resume: results do not depend on them


def _comparable(params: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps({k: v for k, v in params.items() if k not in _VOLATILE_PARAMS}, default=str))


@dataclass
class _RunProgress:
    """How far a coding run got: what each committed batch adds, stored with it in the run."""

    COUNTERS = (
        "batches",
        "last_id",
        "ventures",
        "segments",
        "suggestions",
        "present",
        "abstained",
        "resumed",
    )
    corpus: dict[str, Any] = field(default_factory=dict)
    batches: int = 0
    last_id: str | None = None
    ventures: int = 0
    segments: int = 0
    suggestions: int = 0
    present: int = 0
    abstained: int = 0
    resumed: int = 0
    executor: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batches:
            self.resumed += 1

    def add(self, suggestions: pd.DataFrame, *, last_id: str, ventures: int, segments: int) -> None:
        self.batches += 1
        self.last_id = last_id
        self.ventures += ventures
        self.segments += segments
        self.suggestions += len(suggestions)
        if len(suggestions):
            abstained = (
                suggestions["status"] == "abstained"
                if "status" in suggestions
                else pd.Series(False, index=suggestions.index)
            )
            self.present += int(((suggestions["score"] >= DEFAULT_MIN_SCORE) & ~abstained).sum())
            self.abstained += int(abstained.sum())

    def progress(self) -> dict[str, Any]:
        """What ``--resume`` reads back: the counters and the corpus fingerprint."""
        return {k: getattr(self, k) for k in self.COUNTERS} | {"corpus": self.corpus}

    def stats(self) -> dict[str, Any]:
        """The run's stats while it runs (the owner process and the progress)."""
        import os
        import socket

        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "progress": self.progress(),
            "executor": self.executor,
        }

    def final(self, seconds: float) -> dict[str, Any]:
        return {
            "ventures": self.ventures,
            "segments": self.segments,
            "suggestions": self.suggestions,
            "present": self.present,
            "abstained": self.abstained,
            "seconds": round(seconds, 3),
            "present_min_score": DEFAULT_MIN_SCORE,
            "batches": self.batches,
            "resumed": self.resumed,
            "executor": self.executor,
            "progress": self.progress(),
        }


def _imported_from(store: Store, coder: str, gold_path: str | Path) -> bool:
    """True when ``coder``'s codes were imported (``simap import-codes``) from ``gold_path``,
    or from a file with the same content."""
    import hashlib

    from sqlalchemy import select

    from simap.store.schema import Event

    with store.engine.connect() as conn:
        after = conn.execute(
            select(Event.after)
            .where(Event.actor == coder, Event.action == "human_codes_imported")
            .order_by(Event.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    source = (after or {}).get("source")
    if not source:
        return False
    gold, src = Path(gold_path), Path(source)
    try:
        if src.resolve() == gold.resolve():
            return True
        digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
        return src.is_file() and digest(src) == digest(gold)
    except OSError:
        return False
