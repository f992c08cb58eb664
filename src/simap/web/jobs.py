"""Background jobs: an upload is imported, or the project re-coded, in a worker thread; pages
poll the job's state (``/api/jobs/{id}``)."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simap.errors import SimapError
from simap.store.db import Store

SKIPPED_KEPT = 500
DISCOVERY_SETTING = "discovery"  # the last discovery of the project (shown on the Discover page)


def hide_path(message: str, path: Path, filename: str) -> str:
    """A message without the server's temporary paths (the upload is named by its file name)."""
    for p in (str(path), str(path.parent), str(path.parent.parent)):
        message = message.replace(p + "/", "").replace(p, filename)
    return message


@dataclass
class Job:
    id: str
    filename: str
    user: str
    state: str = "queued"  # queued | running | done | failed
    stage: str = "waiting for the importer"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    kind: str = "import"  # import | code

    @property
    def progress(self) -> float:
        return {"queued": 0.05, "running": 0.5, "done": 1.0, "failed": 1.0}[self.state]

    def to_dict(self) -> dict[str, Any]:
        end = self.finished or time.time()
        return {
            "id": self.id,
            "filename": self.filename,
            "user": self.user,
            "state": self.state,
            "stage": self.stage,
            "progress": self.progress,
            "seconds": round(end - (self.started or end), 2),
            "result": self.result,
            "error": self.error,
            "kind": self.kind,
        }


class ImportJobs:
    """Runs imports one at a time (an import is one database transaction) off the request thread."""

    def __init__(self, store: Store, upload_dir: Path) -> None:
        self.store = store
        self.upload_dir = upload_dir
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simap-import")

    def submit(
        self,
        path: Path,
        filename: str,
        user: str,
        *,
        skip_invalid: bool = False,
        mapping: Any = None,
        update: bool = False,
    ) -> Job:
        job = Job(uuid.uuid4().hex[:12], filename, user)
        with self.lock:
            self.jobs[job.id] = job
        self.pool.submit(self._run, job, path, skip_invalid, mapping, update)
        return job

    def _run(self, job: Job, path: Path, skip_invalid: bool, mapping: Any, update: bool) -> None:
        from simap.pipeline import Project

        job.state, job.started, job.stage = (
            "running",
            time.time(),
            "reading, splitting into sentences, saving",
        )
        try:
            stats = Project(self.store, actor=job.user).import_path(
                path, skip_invalid=skip_invalid, mapping=mapping, update=update, source_name=job.filename
            )
            job.result = {
                "created": stats.created,
                "updated": stats.updated,
                "unchanged": stats.unchanged,
                "segments": stats.segments,
                "skipped_count": len(stats.skipped),
                "skipped": [hide_path(str(s), path, job.filename) for s in stats.skipped[:SKIPPED_KEPT]],
            }
            if hasattr(stats, "convention"):  # a REFI-QDA project (.qdpx, .qde)
                job.result |= {
                    "codes": stats.codes,
                    "sources": stats.sources,
                    "selections": stats.selections,
                    "codings": stats.codings,
                    "coders": stats.coders,
                    "convention": stats.convention,
                    "warnings": [hide_path(str(w), path, job.filename) for w in stats.warnings[:50]],
                    "not_kept": [hide_path(str(w), path, job.filename) for w in stats.losses[:50]],
                }
            job.state, job.stage = "done", "imported"
        except SimapError as exc:
            job.state, job.stage = "failed", "nothing was imported"
            job.error = hide_path(str(exc), path, job.filename)
        except Exception as exc:  # a bug or a broken file: report it, never kill the worker
            job.state, job.stage = "failed", "nothing was imported"
            job.error = hide_path(f"{type(exc).__name__}: {exc}", path, job.filename)
        finally:
            job.finished = time.time()
            shutil.rmtree(path.parent, ignore_errors=True)

    def submit_code(self, user: str, codebook: Any, *, embedder: str, label: str = "") -> Job:
        """Re-code the whole project with ``codebook`` (zero-shot, ``embedder``) in the worker."""
        job = Job(uuid.uuid4().hex[:12], label or f"re-code with {codebook.name}@{codebook.version}", user)
        job.kind, job.stage = "code", "waiting for the worker"
        with self.lock:
            self.jobs[job.id] = job
        self.pool.submit(self._run_code, job, codebook, embedder)
        return job

    def _run_code(self, job: Job, codebook: Any, embedder: str) -> None:
        from simap.pipeline import Project
        from simap.review.codebook_versions import coded_version

        job.state, job.started, job.stage = "running", time.time(), "coding every venture"
        try:
            before = coded_version(self.store)
            result = Project(self.store, actor=job.user).code(codebook=codebook, embedder=embedder)
            job.result = {
                "run_id": result.run_id,
                "ventures": result.ventures,
                "present": result.present,
                "codebook": result.codebook,
                "codebook_version": result.codebook_version,
                "previous_version": before,
                "seconds": round(result.seconds, 2),
            }
            job.state, job.stage = "done", "coded"
        except SimapError as exc:
            job.state, job.stage, job.error = "failed", "nothing was coded", str(exc)
        except Exception as exc:  # report it, never kill the worker
            job.state, job.stage, job.error = "failed", "nothing was coded", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()

    def submit_discover(self, user: str, *, embedder: str, params: dict[str, Any]) -> Job:
        """Find emerging themes (``simap discover``) in the worker; the result is kept in the project."""
        job = Job(uuid.uuid4().hex[:12], "discover emerging themes", user)
        job.kind, job.stage = "discover", "waiting for the worker"
        with self.lock:
            self.jobs[job.id] = job
        self.pool.submit(self._run_discover, job, embedder, params)
        return job

    def _run_discover(self, job: Job, embedder: str, params: dict[str, Any]) -> None:
        from simap.discover.run import discover
        from simap.pipeline import Project
        from simap.store import browse

        job.state, job.started, job.stage = "running", time.time(), "scoring sentences, clustering themes"
        try:
            found = discover(Project(self.store, actor=job.user), embedder=embedder, **params)
            browse.put_setting(self.store, DISCOVERY_SETTING, found.to_dict())
            job.result = {"themes": len(found.themes), "unexplained": found.n_unexplained}
            job.state, job.stage = "done", "themes found"
        except SimapError as exc:
            job.state, job.stage, job.error = "failed", "no themes", str(exc)
        except Exception as exc:  # report it, never kill the worker
            job.state, job.stage, job.error = "failed", "no themes", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def recent(self, n: int = 20, kind: str | None = None) -> list[Job]:
        with self.lock:
            jobs = [j for j in self.jobs.values() if kind is None or j.kind == kind]
        return sorted(jobs, key=lambda j: j.created, reverse=True)[:n]

    def new_upload_path(self, filename: str) -> Path:
        folder = self.upload_dir / uuid.uuid4().hex
        folder.mkdir(parents=True)
        safe = Path(filename).name.replace("/", "_") or "upload"
        return folder / safe

    def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """Block until a job ends (tests and scripts)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.jobs[job_id]
            if job.state in ("done", "failed"):
                return job
            time.sleep(0.02)
        return self.jobs[job_id]

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
