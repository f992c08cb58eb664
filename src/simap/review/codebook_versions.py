"""The project's codebook versions, first-class: list them, name them, compare their codings.

Every codebook a project uses is stored by version (the content hash, :attr:`Codebook.version`):
when it is coded (``simap code``) and when it is edited on the workbench's Codebook page. A
version is named ``NAME@VERSION`` (``social-innovation@3f2a9c1d0b7e``; a unique prefix of the
version is enough, ``NAME@latest`` is the newest saved one of that name), by its bare version, or
by the name of a codebook that exists only in the project. :func:`resolve` turns such a reference
(or a built-in name, or a file) into a codebook; the CLI, the web and the API all use it.

Each coding run keeps the codes it found per venture (``stats["present_by_venture"]``, at the default
minimum score), so :func:`diff` can say which codes appear or disappear, for which ventures,
between the codings of two versions. :func:`staleness` tells the dashboard when the machine
suggestions were made with another version than the working codebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from simap import codebook as cb
from simap.codebook.schema import Codebook
from simap.defaults import DEFAULT_MIN_SCORE
from simap.errors import InvalidInput, NotFound
from simap.store import browse, repo
from simap.store.db import Store
from simap.store.schema import CodebookVersion, Run

SETTING = "codebook"
"""Project setting naming the working codebook version (also written by the Codebook page)."""
PRESENT_KEY = "present_by_venture"
MIN_PREFIX = 4


@dataclass
class VersionInfo:
    """One stored codebook version of a project."""

    name: str
    version: str
    codes: int
    saved_at: str | None
    runs: int  # finished coding runs with this version
    last_coded: str | None
    working: bool
    coded: bool  # the machine suggestions now in the project are of this version
    builtin: bool  # identical to a built-in codebook

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__) | {"ref": self.ref}


def working_version(store: Store) -> str | None:
    """The version the workbench works with: last saved or coded (None: nothing yet)."""
    setting = browse.get_setting(store, SETTING)
    if setting and setting.get("version"):
        return str(setting["version"])
    return coded_version(store)


def set_working(store: Store, version: str) -> None:
    browse.put_setting(store, SETTING, {"version": version})


def coded_version(store: Store) -> str | None:
    """The codebook version of the newest finished coding run (the suggestions in the project)."""
    with store.engine.connect() as conn:
        return conn.execute(  # type: ignore[no-any-return]
            select(Run.codebook_version)
            .where(Run.kind == "code", Run.status == "done")
            .order_by(Run.id.desc())
            .limit(1)
        ).scalar_one_or_none()


def working_codebook(store: Store) -> Codebook:
    """The working codebook, else the built-in default."""
    version = working_version(store)
    return repo.load_codebook_version(store, version) if version else cb.load(cb.DEFAULT_CODEBOOK)


def list_versions(store: Store) -> list[VersionInfo]:
    """Every stored version, newest first, with its coding runs and whether it is the working one."""
    builtin = {}
    for name in cb.builtin_names():
        try:
            builtin[cb.load(name).version] = name
        except Exception:  # a broken built-in must not hide the project's versions
            continue
    working, coded = working_version(store), coded_version(store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                CodebookVersion.version,
                CodebookVersion.name,
                CodebookVersion.content,
                CodebookVersion.created_at,
            )
        ).all()
        runs = {
            v: (n, last)
            for v, n, last in conn.execute(
                select(Run.codebook_version, func.count(Run.id), func.max(Run.finished_at))
                .where(Run.kind == "code", Run.status == "done")
                .group_by(Run.codebook_version)
            ).all()
        }
    out = []
    # newest first by the full timestamp: saved_at shows whole seconds, and two versions saved in
    # one second (an edit right after a coding run) must not tie
    rows = sorted(rows, key=lambda r: (r[3] is not None, r[3]), reverse=True)
    for version, name, content, created in rows:
        n, last = runs.get(version, (0, None))
        active = sum(1 for c in (content or {}).get("codes", []) if not c.get("retired"))
        out.append(
            VersionInfo(
                name=name,
                version=version,
                codes=active,
                saved_at=created.isoformat(timespec="seconds") if created else None,
                runs=int(n),
                last_coded=last.isoformat(timespec="seconds") if last else None,
                working=version == working,
                coded=version == coded,
                builtin=version in builtin,
            )
        )
    return out


def _match(store: Store, name: str | None, version: str) -> list[VersionInfo]:
    found = [
        v
        for v in list_versions(store)
        if (not name or v.name == name) and (v.version == version or v.version.startswith(version))
    ]
    return found


def _known(store: Store) -> str:
    refs = [v.ref for v in list_versions(store)[:8]]
    return ", ".join(refs) if refs else "none yet"


def resolve(store: Store | None, ref: str | Codebook | None) -> Codebook:
    """The codebook ``ref`` names: a Codebook; None (the project's working codebook);
    ``NAME@VERSION`` / ``NAME@latest`` / a bare version (stored in the project); a built-in name
    or a YAML/JSON file; or the name of a codebook stored only in the project (its newest version).
    """
    if isinstance(ref, Codebook):
        return ref
    if ref is None or str(ref).strip() == "":
        return working_codebook(store) if store is not None else cb.load(cb.DEFAULT_CODEBOOK)
    text = str(ref).strip()
    if "@" in text and store is not None:
        name, _, version = text.rpartition("@")
        if version == "latest":
            found = [v for v in list_versions(store) if v.name == name]
            if not found:
                raise NotFound(
                    f"no version of codebook {name!r} is stored in this project.",
                    hint=f"stored versions: {_known(store)} (`simap codebook list`)",
                )
            return repo.load_codebook_version(store, found[0].version)
        if len(version) < MIN_PREFIX:
            raise InvalidInput(
                f"a codebook version needs at least {MIN_PREFIX} characters; got {version!r} in {text!r}.",
                field="codebook",
                hint="see `simap codebook list` for the versions",
            )
        found = _match(store, name, version)
        if len(found) > 1:
            raise InvalidInput(
                f"{text!r} matches several versions: {', '.join(v.ref for v in found)}.",
                field="codebook",
                hint="give more characters of the version",
            )
        if found:
            return repo.load_codebook_version(store, found[0].version)
        if name in cb.builtin_names() and cb.load(name).version.startswith(version):
            return cb.load(name)
        raise NotFound(
            f"codebook {text!r} is not in this project; stored versions: {_known(store)}.",
            hint="run `simap codebook list` to see them; a version is stored when it is coded or "
            "saved on the Codebook page",
        )
    if "@" in text:
        name, _, version = text.rpartition("@")
        if name in cb.builtin_names() and cb.load(name).version.startswith(version):
            return cb.load(name)
        raise NotFound(
            f"codebook {text!r} names a project version, but no project is open.",
            hint="give the project with --project",
        )
    try:
        return cb.load(text)
    except NotFound:
        if store is None:
            raise
    found = [v for v in list_versions(store) if v.name == text]
    if found:
        return repo.load_codebook_version(store, found[0].version)
    if len(text) >= MIN_PREFIX and all(ch in "0123456789abcdef" for ch in text.lower()):
        found = _match(store, None, text.lower())
        if len(found) == 1:
            return repo.load_codebook_version(store, found[0].version)
    raise NotFound(
        f"no codebook named {text!r}: not built in ({', '.join(cb.builtin_names())}), not a file, "
        f"not in this project (stored: {_known(store)}).",
        hint="name a project version as NAME@VERSION (`simap codebook list`)",
    )


# -- staleness and re-code diff --------------------------------------------------------------------
@dataclass
class Staleness:
    """The working codebook differs from the one the machine suggestions were made with."""

    working: str
    coded: str
    working_name: str
    coded_name: str

    def message(self) -> str:
        return (
            f"the machine suggestions were made with codebook {self.coded_name}@{self.coded}; "
            f"the working codebook is {self.working_name}@{self.working}."
        )


def staleness(store: Store) -> Staleness | None:
    """None when the suggestions are of the working version (or nothing was coded yet)."""
    working, coded = working_version(store), coded_version(store)
    if not working or not coded or working == coded:
        return None
    names = {v.version: v.name for v in list_versions(store)}
    return Staleness(working, coded, names.get(working, "?"), names.get(coded, "?"))


def present_snapshot(suggestions: Any, min_score: float = DEFAULT_MIN_SCORE) -> dict[str, list[str]]:
    """Venture -> codes at or above ``min_score`` in a frame of machine suggestions (kept per run)."""
    out: dict[str, list[str]] = {}
    if suggestions is None or len(suggestions) == 0:
        return out
    hits = suggestions[suggestions["score"] >= min_score]
    for vid, code in zip(hits["venture_id"], hits["code_id"], strict=True):
        out.setdefault(str(vid), []).append(str(code))
    return {k: sorted(set(v)) for k, v in sorted(out.items())}


def snapshot_of_run(store: Store, run_id: int) -> dict[str, list[str]]:
    from simap.store.schema import Assignment

    with store.engine.connect() as conn:
        hits = conn.execute(
            select(Assignment.venture_id, Assignment.code_id).where(
                Assignment.source == "machine",
                Assignment.run_id == run_id,
                Assignment.score >= DEFAULT_MIN_SCORE,
            )
        ).all()
    out: dict[str, set[str]] = {}
    for vid, code in hits:
        out.setdefault(str(vid), set()).add(str(code))
    return {k: sorted(v) for k, v in sorted(out.items())}


def keep_snapshot_of_last_run(store: Store) -> None:
    """Before a re-code overwrites them: keep the codes per venture of the newest coding run if
    it has no snapshot yet (runs made before snapshots existed), so it can still be diffed."""
    from sqlalchemy import update

    with store.engine.connect() as conn:
        row = conn.execute(
            select(Run.id, Run.stats)
            .where(Run.kind == "code", Run.status == "done")
            .order_by(Run.id.desc())
            .limit(1)
        ).first()
    if row is None or (isinstance(row[1], dict) and PRESENT_KEY in row[1]):
        return
    stats = dict(row[1] or {}) | {
        PRESENT_KEY: snapshot_of_run(store, int(row[0])),
        "present_min_score": DEFAULT_MIN_SCORE,
    }
    with store.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == row[0]).values(stats=stats))


def coding_of(store: Store, version: str) -> tuple[int, dict[str, set[str]]]:
    """The newest finished coding run of ``version`` and its codes per venture."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(Run.id, Run.stats)
            .where(Run.kind == "code", Run.status == "done", Run.codebook_version == version)
            .order_by(Run.id.desc())
        ).all()
    for run_id, stats in rows:
        if isinstance(stats, dict) and PRESENT_KEY in stats:
            return int(run_id), {k: set(v) for k, v in stats[PRESENT_KEY].items()}
    if rows and coded_version(store) == version:  # an older run without a snapshot: read the table
        return int(rows[0][0]), {k: set(v) for k, v in snapshot_of_run(store, int(rows[0][0])).items()}
    raise NotFound(
        f"codebook version {version} has not been coded in this project.",
        hint=f"code it first: `simap code --codebook NAME@{version}` (or the Re-code button)",
    )


@dataclass
class DiffRow:
    venture_id: str
    name: str
    appeared: list[str]
    disappeared: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CodebookDiff:
    """Which codes appear or disappear, for which ventures, from coding ``a`` to coding ``b``."""

    a: str
    b: str
    run_a: int
    run_b: int
    codes_added: list[str]
    codes_removed: list[str]
    rows: list[DiffRow] = field(default_factory=list)
    per_code: dict[str, dict[str, int]] = field(default_factory=dict)  # code -> {appeared, disappeared}
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "run_a": self.run_a,
            "run_b": self.run_b,
            "codes_added": self.codes_added,
            "codes_removed": self.codes_removed,
            "per_code": self.per_code,
            "unchanged": self.unchanged,
            "ventures": [r.to_dict() for r in self.rows],
        }


def diff(store: Store, a: str | Codebook, b: str | Codebook | None) -> CodebookDiff:
    """Compare the codings of two versions (each must have been coded in this project)."""
    book_a, book_b = resolve(store, a), resolve(store, b)
    run_a, coded_a = coding_of(store, book_a.version)
    run_b, coded_b = coding_of(store, book_b.version)
    ids = sorted(set(coded_a) | set(coded_b))
    names = browse.venture_names(store, ids) if ids else {}
    rows: list[DiffRow] = []
    per_code: dict[str, dict[str, int]] = {}
    unchanged = 0
    for vid in ids:
        before, after = coded_a.get(vid, set()), coded_b.get(vid, set())
        up, down = sorted(after - before), sorted(before - after)
        if not up and not down:
            unchanged += 1
            continue
        rows.append(DiffRow(vid, names.get(vid, vid), up, down))
        for c in up:
            per_code.setdefault(c, {"appeared": 0, "disappeared": 0})["appeared"] += 1
        for c in down:
            per_code.setdefault(c, {"appeared": 0, "disappeared": 0})["disappeared"] += 1
    return CodebookDiff(
        a=f"{book_a.name}@{book_a.version}",
        b=f"{book_b.name}@{book_b.version}",
        run_a=run_a,
        run_b=run_b,
        codes_added=sorted(set(book_b.ids()) - set(book_a.ids())),
        codes_removed=sorted(set(book_a.ids()) - set(book_b.ids())),
        rows=rows,
        per_code=dict(sorted(per_code.items())),
        unchanged=unchanged,
    )
