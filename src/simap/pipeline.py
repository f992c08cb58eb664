"""The whole loop on one project: import -> code -> map -> report/export -> evaluate.

``Project`` orchestrates the stages; it holds no stage logic of its own. The CLI and the web app
call these methods and only format their results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simap import codebook as cb
from simap.codebook.schema import Codebook
from simap.defaults import DEFAULT_EMBEDDER, DEFAULT_MIN_SCORE
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
        batch_ventures: int = 500,
        precision: float | None = None,
        progress: Progress = _no_progress,
    ) -> CodeResult:
        """Machine-code every venture against a codebook and store the suggestions with provenance.

        ``codebook``: a Codebook, a built-in name or file, a project version (``NAME@VERSION``), or
        None for the project's working codebook (the last saved or coded one, else the default).
        The coded version becomes the working codebook; the run keeps the codes it found per
        venture (``stats["present_by_venture"]``) for :func:`simap.review.codebook_versions.diff`.

        ``precision``: a target precision (e.g. 0.8) for a calibrated coder: per code, suggestions
        below the score that reached it out of fold are stored as ``abstained`` (left for review,
        not counted on the map until accepted; see :func:`simap.coding.calibration.apply_precision`).
        """
        from simap.review import codebook_versions

        book = self.resolve_codebook(codebook)
        t0 = time.perf_counter()
        ventures = repo.load_ventures(self.store)
        if ventures.empty:
            raise NotFound("this project has no ventures to code.", hint="run `simap import FILE` first")
        version = repo.save_codebook(self.store, book, actor=self.actor)
        repo.mark_interrupted_runs(self.store)  # runs of killed processes are not "running"
        ids = ventures["id"].tolist()
        corpus = None
        if embedder == "tfidf":
            corpus = repo.load_segments(self.store)["text"].tolist()
        progress("load model", 0, 1)
        machine: Any
        if coder == "supervised":
            from simap.coding.training import load_trained

            machine, train_run = load_trained(self.store, book)
            machine.cache = None
            coder_key = f"supervised:{machine.embedder.key}:run{train_run}"
        elif coder == "zeroshot":
            machine = self.make_coder(
                book,
                embedder=embedder,
                embedder_params=embedder_params,
                corpus=corpus,
                **(coder_params or {}),
            )
            coder_key = machine.key
        else:
            machine = self.make_registered_coder(coder, book, coder_params)
            coder_key = machine.key
        progress("load model", 1, 1)
        if hasattr(machine, "progress"):
            machine.progress = progress
        precision_cut: dict[str, float] | None = None
        if precision is not None:
            if not hasattr(machine, "precision_thresholds"):
                raise InvalidInput(
                    f"--precision needs a calibrated coder; coder {coder!r} has no calibration data.",
                    field="precision",
                    hint="run `simap train`, then `simap code --coder supervised --precision 0.8`",
                )
            precision_cut = machine.precision_thresholds(precision)
        params = machine.get_params() | {"workers": workers}
        if precision_cut is not None:
            # JSON has no infinity: a code that never reaches the target (abstains everywhere) is null
            params |= {
                "precision_target": precision,
                "precision_thresholds": {
                    c: (round(t, 4) if np.isfinite(t) else None) for c, t in precision_cut.items()
                },
            }
        run_id = repo.start_run(
            self.store, kind="code", codebook_version=version, model=coder_key, params=params
        )
        try:
            parts = []
            n_segments = 0
            from simap.coding.parallel import predict_parallel

            for i in range(0, len(ids), batch_ventures):
                chunk = ids[i : i + batch_ventures]
                segments = repo.load_segments(self.store, chunk)
                n_segments += len(segments)
                if getattr(machine, "needs_documents", False):
                    # a coder that reads whole texts (the LLM coder) runs its own concurrency
                    documents = repo.load_documents(self.store, chunk)
                    parts.append(machine.predict(segments, documents=documents))
                else:
                    context = ventures[ventures["id"].isin(set(chunk))] if coder == "supervised" else None
                    parts.append(predict_parallel(machine, segments, workers=workers, ventures=context))
                progress("code", min(i + batch_ventures, len(ids)), len(ids))
            suggestions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            if precision_cut is not None and len(suggestions):
                from simap.coding.calibration import apply_precision

                suggestions = apply_precision(suggestions, precision_cut)
            codebook_versions.keep_snapshot_of_last_run(self.store)  # before it is overwritten
            n = repo.save_machine_suggestions(
                self.store, suggestions, coder=coder_key, codebook_version=version, run_id=run_id
            )
            counted = suggestions["status"] != "abstained" if "status" in suggestions else True
            present = int(((suggestions["score"] >= DEFAULT_MIN_SCORE) & counted).sum()) if n else 0
            abstained = int((suggestions["status"] == "abstained").sum()) if "status" in suggestions else 0
            seconds = time.perf_counter() - t0
            stats = {
                "ventures": len(ids),
                "segments": n_segments,
                "suggestions": n,
                "present": present,
                "abstained": abstained,
                "seconds": round(seconds, 3),
                "present_min_score": DEFAULT_MIN_SCORE,
                codebook_versions.PRESENT_KEY: codebook_versions.present_snapshot(suggestions),
            }
            if hasattr(machine, "run_stats"):
                stats["coder"] = machine.run_stats()
            repo.finish_run(self.store, run_id, stats=stats)
            codebook_versions.set_working(self.store, version)
        except BaseException as exc:
            repo.finish_run(self.store, run_id, status="failed", error=repr(exc))
            raise
        return CodeResult(
            run_id=run_id,
            ventures=len(ids),
            segments=n_segments,
            suggestions=n,
            present=present,
            abstained=abstained,
            codebook=book.name,
            codebook_version=version,
            coder=coder_key,
            seconds=seconds,
            params=params,
            stats=stats,
        )

    def make_registered_coder(
        self, coder: str, codebook: Codebook, coder_params: dict[str, Any] | None = None
    ) -> Any:
        """A coder of the registry (other than zeroshot and supervised) made for this project and
        fitted to ``codebook``: its factory gets the project's store (settings, cache) and the params."""
        from simap.coding import coders

        factory = coders.get(coder)  # an unknown name lists the valid ones
        return factory(store=self.store, **(coder_params or {})).fit(codebook)

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
    ) -> Any:
        """Train the learning coder on the human decisions (``simap train``).

        ``finetune=True`` first fine-tunes MiniLM on the labels (:mod:`simap.coding.finetune`)
        and learns on top of the fine-tuned model.
        """
        from simap.coding.training import human_labels, models_dir, train
        from simap.embed import get_embedder

        book = self._codebook_or_default(codebook)
        if finetune:
            from simap.coding.finetune import finetune_sentence_model

            labels = human_labels(self.store, book, coders)
            segments = repo.load_segments(self.store, sorted(set(labels["venture_id"])))
            folder = models_dir(self.store) / f"finetuned-{book.version}-{len(set(labels['venture_id']))}"
            path = finetune_sentence_model(book, segments, labels, folder)
            return train(
                self.store, book, get_embedder("minilm", model=str(path)), coders=coders, params=params
            )
        return train(self.store, book, get_embedder(embedder), coders=coders, params=params)

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
        from simap.coding.training import decisions_since_training, last_train_params

        book = self._codebook_or_default(codebook)
        if decisions_since_training(self.store, book) < every:
            return None
        result = self.train(codebook=book, embedder=embedder, params=last_train_params(self.store, book))
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
