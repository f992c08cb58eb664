"""The map as advice needs it: a ventures x codes matrix, each venture's contexts and best quotes.

:class:`AdviceIndex` is built once per project state (``from_project``) and then answers every
diagnosis and portfolio in memory; ``Advisor`` keeps one around so a server answers in
milliseconds. It is computed from ``simap.maps.select.effective_codes`` (human decisions override
machine suggestions, suggestions count from ``min_score``), so advice and the map agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simap.advise.models import Evidence, MapInfo
from simap.advise.similar import TextNeighbours
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput, NotFound
from simap.maps.select import check_ventures, effective_codes, evidence_list

KINDS = ("design_principle", "barrier", "challenge")


def _names_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, Iterable):
        out = []
        for item in value:
            if isinstance(item, str) and item.strip():
                out.append(item.strip())
            elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
                out.append(str(item["name"]).strip())
        return out
    return []


def contexts(row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """A venture's countries and sectors: the metadata lists when present, else the single columns."""
    meta = row.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    countries = _names_list(meta.get("countries")) or _names_list(row.get("country"))
    sectors = _names_list(meta.get("sectors")) or _names_list(row.get("sector"))
    return list(dict.fromkeys(countries)), list(dict.fromkeys(sectors))


def evidence_from_item(item: Mapping[str, Any], *, source: str = "map", **extra: Any) -> Evidence:
    """An :class:`Evidence` from one stored evidence dict ({field, start, end, text, score, phrase})."""
    phrase = item.get("phrase")
    phrase_text = phrase.get("text") if isinstance(phrase, Mapping) else None
    score = item.get("score")
    return Evidence(
        source=source,  # type: ignore[arg-type]
        text=str(item.get("text") or "").strip(),
        score=float(score) if isinstance(score, int | float) and not math.isnan(score) else None,
        field=item.get("field"),
        start=item.get("start"),
        end=item.get("end"),
        phrase=phrase_text,
        **extra,
    )


def candidate_assignments(store: Any, codebook: Codebook, min_score: float) -> pd.DataFrame:
    """The ASSIGNMENTS rows that can make a venture x code present, for ``effective_codes``.

    Equivalent to ``repo.load_assignments`` for that purpose but much faster on big maps: every
    row of each venture x code that has a human row, a decision, or a score >= ``min_score``
    (the other pairs can never be present), in insertion order. Loading all 14 rows of 10,000
    ventures with their JSON evidence takes seconds; this takes a fraction of that.
    """
    from sqlalchemy import and_, or_, select

    from simap.batches import ASSIGNMENT_COLUMNS
    from simap.store.schema import Assignment

    pairs = (
        select(Assignment.venture_id, Assignment.code_id)
        .where(Assignment.code_id.in_(codebook.ids()))
        .where(
            or_(
                Assignment.source == "human",
                Assignment.status != "suggested",
                Assignment.score >= float(min_score),
            )
        )
        .distinct()
        .subquery()
    )
    q = (
        select(
            Assignment.id,
            Assignment.venture_id,
            Assignment.code_id,
            Assignment.source,
            Assignment.coder,
            Assignment.score,
            Assignment.status,
            Assignment.evidence,
        )
        .join(pairs, and_(Assignment.venture_id == pairs.c.venture_id, Assignment.code_id == pairs.c.code_id))
        .order_by(Assignment.id)
    )
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(q).all()]
    columns = ["venture_id", "code_id", "source", "coder", "score", "status", "evidence"]
    frame = pd.DataFrame([r[1:] for r in rows], columns=columns)
    kinds = {c.id: c.kind for c in codebook.codes}
    frame.insert(2, "kind", frame["code_id"].map(kinds))
    return frame[ASSIGNMENT_COLUMNS]


@dataclass
class AdviceIndex:
    """Ventures x active codes of one map, with contexts and the best evidence per present cell."""

    codebook: Codebook
    ids: list[str]
    names: list[str]
    countries: list[list[str]]
    sectors: list[list[str]]
    matrix: np.ndarray  # bool, ventures x codes (codebook.ids() order)
    scores: np.ndarray  # float32, NaN where absent
    evidence: dict[tuple[int, str], dict[str, Any]]
    info: MapInfo
    code_ids: list[str] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    col_of: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    text: TextNeighbours | None = None
    """Venture vectors and their nearest-neighbour index (:mod:`simap.advise.similar`); optional:
    set by ``with_text`` (the Advisor does, with the project's coder), which loads the copy saved
    in the project's cache folder when the texts and embedder match, else builds and saves it."""

    def __post_init__(self) -> None:
        self.code_ids = self.codebook.ids()
        self.row_of = {vid: i for i, vid in enumerate(self.ids)}
        self.col_of = {cid: j for j, cid in enumerate(self.code_ids)}
        for vid, vname in zip(self.ids, self.names, strict=True):
            self.by_name.setdefault(vname.strip().casefold(), vid)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_frames(
        cls,
        ventures: pd.DataFrame,
        present: pd.DataFrame,
        codebook: Codebook,
        *,
        min_score: float,
        coder: str | None = None,
        database: str | None = None,
    ) -> AdviceIndex:
        """Build from a VENTURES frame and the present rows of ``effective_codes``."""
        check_ventures(ventures)
        ids = ventures["id"].astype(str).tolist()
        names = ventures["name"].astype(str).tolist()
        ctx = [contexts(r) for r in ventures.to_dict("records")]
        code_ids = codebook.ids()
        row_of = {vid: i for i, vid in enumerate(ids)}
        col_of = {cid: j for j, cid in enumerate(code_ids)}
        matrix = np.zeros((len(ids), len(code_ids)), dtype=bool)
        scores = np.full((len(ids), len(code_ids)), np.nan, dtype=np.float32)
        evidence: dict[tuple[int, str], dict[str, Any]] = {}
        if not present.empty:
            for vid, cid, score, ev in zip(
                present["venture_id"].astype(str),
                present["code_id"].astype(str),
                present["score"],
                present["evidence"],
                strict=True,
            ):
                i, j = row_of.get(vid), col_of.get(cid)
                if i is None or j is None:
                    continue
                matrix[i, j] = True
                if score is not None and not pd.isna(score):
                    scores[i, j] = float(score)
                items = [e for e in evidence_list(ev) if str(e.get("text") or "").strip()]
                if items:
                    evidence[(i, cid)] = items[0]
        info = MapInfo(
            n_ventures=len(ids),
            codebook=codebook.name,
            codebook_version=codebook.version,
            min_score=float(min_score),
            coder=coder,
            database=database,
        )
        return cls(
            codebook=codebook,
            ids=ids,
            names=names,
            countries=[c for c, _ in ctx],
            sectors=[s for _, s in ctx],
            matrix=matrix,
            scores=scores,
            evidence=evidence,
            info=info,
        )

    @classmethod
    def from_project(
        cls, project: Any, *, codebook: Codebook | None = None, min_score: float = 0.5
    ) -> AdviceIndex:
        """Build from a :class:`simap.pipeline.Project` (its latest coded codebook by default)."""
        from simap.store import repo

        book = project.current_codebook(codebook)
        missing = [k for k in ("design_principle", "barrier") if not book.ids(k)]
        if missing:
            raise InvalidInput(
                f"advice needs a codebook with design principles and barriers; codebook {book.name!r} "
                f"has no code of kind {missing}.",
                field="codebook",
                hint="code the project with the social-innovation codebook (`simap code`)",
            )
        ventures = repo.load_ventures(project.store)
        if ventures.empty:
            raise NotFound("this project has no ventures.", hint="run `simap import FILE` and `simap code`")
        present = effective_codes(candidate_assignments(project.store, book, min_score), min_score=min_score)
        meta = project.report_meta(book, min_score, True)
        return cls.from_frames(
            ventures,
            present,
            book,
            min_score=min_score,
            coder=meta.get("model"),
            database=meta.get("database"),
        )

    def with_text(self, project: Any, embedder: Any, cache: Any = None) -> AdviceIndex:
        """Attach the text index of ``project`` (every sentence embedded by ``embedder``); returns self."""
        self.text = TextNeighbours.from_project(project, embedder, cache)
        return self

    # -- queries --------------------------------------------------------------------------
    def kind_ids(self, kind: str) -> list[str]:
        return self.codebook.ids(kind)

    def column(self, code_id: str) -> np.ndarray:
        return self.matrix[:, self.col_of[code_id]]

    def codes_of(self, row: int) -> set[str]:
        return {self.code_ids[j] for j in np.flatnonzero(self.matrix[row])}

    def score(self, row: int, code_id: str) -> float:
        value = float(self.scores[row, self.col_of[code_id]])
        return 1.0 if math.isnan(value) else value

    def quote(self, row: int, code_id: str) -> Evidence | None:
        item = self.evidence.get((row, code_id))
        if item is None:
            return None
        return evidence_from_item(item, source="map", venture_id=self.ids[row], venture_name=self.names[row])

    def row(self, venture_id: str) -> int:
        try:
            return self.row_of[venture_id]
        except KeyError:
            raise NotFound(
                f"venture {venture_id!r} is not in this project.", hint="check the id (`simap ventures`)"
            ) from None

    def similar(
        self, row: int, similarity: float, shared_with: set[str], nearest_to: str | None = None
    ) -> Any:
        """Row ``row`` as a :class:`~simap.advise.models.SimilarVenture` (codes it shares with
        ``shared_with``)."""
        from simap.advise.models import SimilarVenture

        return SimilarVenture(
            venture_id=self.ids[row],
            name=self.names[row],
            similarity=round(similarity, 4),
            countries=self.countries[row],
            sectors=self.sectors[row],
            shared_codes=sorted(self.codes_of(row) & shared_with),
            nearest_to=nearest_to,
        )

    def find_by_name(self, name: str) -> str | None:
        """The id of the venture named ``name`` (case-insensitive), if the map has one."""
        return self.by_name.get(name.strip().casefold())
