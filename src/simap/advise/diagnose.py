"""Diagnose one venture against a coded map: its codes with evidence, principles, peers, solutions.

``diagnose(project, text=..., answers=...)`` is the one-call API. An :class:`Advisor` does the same
but keeps the map index and the fitted coder between calls (a web server holds one per project);
build it again after the project is re-coded or reviewed.

The description (and the free-text questionnaire answers) are coded with the project's own
zero-shot coder, fitted with the parameters of the project's latest coding run, so a venture is
read exactly as the ventures of the map were. Questionnaire answers map to codes through the
questionnaire's rules (:mod:`simap.advise.questionnaire`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from simap.advise.landscape import AdviceIndex
from simap.advise.models import CodeEvidence, Diagnosis, Evidence
from simap.advise.questionnaire import (
    Questionnaire,
    context_answers,
    questionnaire,
    score_answers,
    text_answers,
)
from simap.advise.recommend import N_PEERS, find_peers, recommend_principles
from simap.advise.solutions import solutions
from simap.codebook.schema import Codebook
from simap.defaults import DEFAULT_MIN_SCORE
from simap.errors import InvalidInput

POSSIBLE_MIN = 0.25
"""Codes scoring from here to ``min_score`` are listed as *possible* (never claimed as present)."""
MAX_POSSIBLE = 4
_CODER_PARAMS = ("units", "C", "cue_weight", "threshold", "evidence_k")
_QUERY_ID = "__query__"


class Advisor:
    """Advice against one project's map; caches the map index and the fitted coder."""

    def __init__(
        self,
        project: Any,
        *,
        codebook: Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        embedder: str | None = None,
        form: Questionnaire | None = None,
    ) -> None:
        self.project = project
        self.codebook = project.current_codebook(codebook)
        self.min_score = float(min_score)
        self.embedder = embedder
        self.form = form or questionnaire()
        self._index: AdviceIndex | None = None
        self._coder: Any = None

    @property
    def index(self) -> AdviceIndex:
        if self._index is None:
            self._index = AdviceIndex.from_project(
                self.project, codebook=self.codebook, min_score=self.min_score
            )
        return self._index

    # -- coding the venture's own text ------------------------------------------------------
    def coder(self) -> Any:
        """The project's zero-shot coder, fitted as in its latest coding run of this codebook."""
        if self._coder is None:
            meta = self.project.report_meta(self.codebook, self.min_score, True)
            params: dict[str, Any] = dict(meta.get("params") or {})
            run_embedder = str(params.get("embedder") or "").split(":")[0] or None
            name = self.embedder or run_embedder or "static"
            same = name == run_embedder
            emb_params = params.get("embedder_params") if same else None
            coder_params = {k: params[k] for k in _CODER_PARAMS if same and k in params}
            corpus = None
            if name == "tfidf":
                from simap.store import repo

                corpus = repo.load_segments(self.project.store)["text"].tolist()
            self._coder = self.project.make_coder(
                self.codebook,
                embedder=name,
                embedder_params=dict(emb_params) if isinstance(emb_params, dict) else None,
                corpus=corpus,
                **coder_params,
            )
        return self._coder

    def code_text(self, texts: Mapping[str, str]) -> list[CodeEvidence]:
        """Code ``{field: text}`` (e.g. the description and free-text answers) with the coder."""
        from simap.ingest.segment import segment_documents

        docs = pd.DataFrame(
            [{"venture_id": _QUERY_ID, "field": f, "text": t} for f, t in texts.items() if t and t.strip()],
            columns=["venture_id", "field", "text"],
        )
        if docs.empty:
            return []
        segments = segment_documents(docs)
        if segments.empty:
            return []
        suggestions = self.coder().predict(segments)
        prompts = {q.id: " ".join(q.prompt.split()) for q in self.form.questions}
        out: list[CodeEvidence] = []
        for rec in suggestions.to_dict("records"):
            code = self.codebook.code(str(rec["code_id"]))
            score = float(rec["score"])
            items = []
            for i, item in enumerate(rec["evidence"] or []):
                item_score = float(item.get("score") or 0.0)
                if i > 0 and item_score < self.min_score:
                    continue
                phrase = item.get("phrase")
                fld = str(item.get("field"))
                items.append(
                    Evidence(
                        source="text",
                        text=str(item.get("text") or "").strip(),
                        score=item_score,
                        field=fld,
                        start=item.get("start"),
                        end=item.get("end"),
                        phrase=phrase.get("text") if isinstance(phrase, dict) else None,
                        question_id=fld if fld in prompts else None,
                        question=prompts.get(fld),
                    )
                )
            out.append(
                CodeEvidence(
                    code_id=code.id,
                    kind=code.kind,
                    name=code.name,
                    score=min(1.0, max(0.0, score)),
                    present=score >= self.min_score,
                    sources=["text"],
                    evidence=items,
                )
            )
        return out

    # -- the diagnosis ----------------------------------------------------------------------
    def diagnose(
        self,
        text: str | None = None,
        answers: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        countries: Sequence[str] | None = None,
        sectors: Sequence[str] | None = None,
        venture_id: str | None = None,
        n_peers: int = N_PEERS,
    ) -> Diagnosis:
        """See :func:`diagnose`."""
        index = self.index
        context = context_answers(answers, self.form) if answers else {}
        texts: dict[str, str] = {}
        exclude: list[int] = []
        if venture_id is not None:
            from simap.store import repo

            row = index.row(venture_id)
            exclude.append(row)
            docs = repo.load_documents(self.project.store, [venture_id])
            texts.update({str(f): str(t) for f, t in zip(docs["field"], docs["text"], strict=True)})
            context.setdefault("name", index.names[row])
            context.setdefault("countries", index.countries[row])
            context.setdefault("sectors", index.sectors[row])
        description = text if text is not None else context.get("description")
        if description and description.strip():
            texts["description"] = description
        if answers:
            texts.update(text_answers(answers, self.form))
        if not texts and not answers:
            raise InvalidInput(
                "a diagnosis needs a description (text), questionnaire answers, or a venture id; got none.",
                field="text",
                hint="pass --text/--text-file, --answers FILE or --venture ID",
            )
        coded = self.code_text(texts)
        answered = score_answers(answers, codebook=self.codebook, form=self.form) if answers else []
        codes = _merge(coded, answered, self.min_score)
        diagnosis = self._assemble(
            codes,
            name=name or context.get("name") or "Your venture",
            countries=list(countries if countries is not None else context.get("countries") or []),
            sectors=list(sectors if sectors is not None else context.get("sectors") or []),
            text=description,
            exclude=exclude,
            n_peers=n_peers,
        )
        return diagnosis

    def _assemble(
        self,
        codes: list[CodeEvidence],
        *,
        name: str,
        countries: list[str],
        sectors: list[str],
        text: str | None,
        exclude: list[int],
        n_peers: int,
    ) -> Diagnosis:
        index = self.index
        present = [c for c in codes if c.present]
        by_kind = {
            k: [c for c in present if c.kind == k] for k in ("design_principle", "barrier", "challenge")
        }
        possible = sorted(
            (c for c in codes if not c.present and c.score >= POSSIBLE_MIN),
            key=lambda c: -c.score,
        )[:MAX_POSSIBLE]
        notes: list[str] = []
        focus = [c.code_id for c in by_kind["barrier"]]
        if not focus:
            tentative = next((c for c in possible if c.kind == "barrier"), None)
            if tentative is not None:
                focus = [tentative.code_id]
                notes.append(
                    f"No barrier is clearly evidenced; the advice below assumes the most likely one, "
                    f"{tentative.code_id} ({tentative.name}, score {tentative.score:.2f}). Answer the "
                    "questionnaire to confirm or correct it."
                )
            else:
                notes.append(
                    "No barrier could be identified from what you gave. Describe the core problem you "
                    "tackle, or answer the questionnaire (`simap advise questionnaire`)."
                )
        uses = [c.code_id for c in by_kind["design_principle"]]
        recs = recommend_principles(index, focus, uses=uses, exclude=exclude)
        chosen = [r.code_id for r in recs if r.recommended]
        peers = find_peers(
            index, focus, chosen, countries=countries, sectors=sectors, k=n_peers, exclude=exclude
        )
        if len(peers) < n_peers and focus:
            others = [r.code_id for r in recs if r.code_id not in chosen]
            more = find_peers(
                index,
                focus,
                others,
                countries=countries,
                sectors=sectors,
                k=n_peers - len(peers),
                exclude=exclude + [index.row_of[p.venture_id] for p in peers],
            )
            if more:
                notes.append(
                    f"Only {len(peers)} peer(s) use a recommended principle; {len(more)} more use "
                    "another principle against the same barrier."
                )
            peers += more
        if focus and not countries and not sectors:
            notes.append(
                "Your country and sector were not given, so peers could not be checked for a different "
                "context; add them (--country/--sector or the questionnaire)."
            )
        if focus and not peers:
            notes.append("The map has no venture that faces the same barrier with a design principle.")
        sol = solutions(
            index.codebook,
            [*focus, *(c.code_id for c in by_kind["challenge"]), *chosen],
            index=index,
        )
        diagnosis = Diagnosis(
            name=name,
            countries=countries,
            sectors=sectors,
            text=text,
            barriers=by_kind["barrier"],
            principles=by_kind["design_principle"],
            challenges=by_kind["challenge"],
            possible=possible,
            focus_barriers=focus,
            recommendations=recs,
            peers=peers,
            solutions=sol,
            notes=notes,
            map=index.info,
            generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        _number_evidence(diagnosis)
        return diagnosis


def _merge(coded: list[CodeEvidence], answered: list[CodeEvidence], min_score: float) -> list[CodeEvidence]:
    """One CodeEvidence per code: the higher score, both sources' evidence (stronger source first)."""
    merged: dict[str, CodeEvidence] = {c.code_id: c for c in coded}
    for a in answered:
        t = merged.get(a.code_id)
        if t is None:
            merged[a.code_id] = a.model_copy(update={"present": a.score >= min_score or a.present})
            continue
        first, second = (a, t) if a.score >= t.score else (t, a)
        parts = [first, second] if second.present else [first]
        merged[a.code_id] = t.model_copy(
            update={
                "score": max(a.score, t.score),
                "present": a.present or t.present,
                "sources": list(dict.fromkeys(s for p in parts for s in p.sources)),
                "evidence": [e for p in parts for e in p.evidence],
            }
        )
    order = {cid: i for i, cid in enumerate(c.code_id for c in coded)}
    return sorted(merged.values(), key=lambda c: (order.get(c.code_id, len(order)), -c.score))


def _number_evidence(diagnosis: Diagnosis) -> None:
    """Give every evidence item a unique id: E1.. for the venture's own, P1.. for peers'."""
    for i, own in enumerate(diagnosis.evidence_items(), start=1):
        own.id = f"E{i}"
    n = 0
    for peer in diagnosis.peers:
        for ev in (peer.barrier_evidence, peer.principle_evidence):
            if ev is not None:
                n += 1
                ev.id = f"P{n}"


def diagnose(
    project: Any,
    text: str | None = None,
    answers: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    countries: Sequence[str] | None = None,
    sectors: Sequence[str] | None = None,
    venture_id: str | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    embedder: str | None = None,
    progress: Any = None,
) -> Diagnosis:
    """Diagnose a venture from its description and/or questionnaire answers against ``project``'s map.

    Returns its barriers, principles and challenges with evidence, the principles that peers use
    against the same barriers (support and lift), up to five peers facing the same barrier in a
    different country or sector, and the matching consulting solutions. ``venture_id`` diagnoses a
    venture of the map itself (its stored text; it is left out of the statistics and peers).
    """
    advisor = Advisor(project, min_score=min_score, embedder=embedder)
    if progress is not None:  # ``progress("diagnose", step, 3)``: map index, model, diagnosis
        progress("diagnose", 0, 3)
        advisor.index  # noqa: B018 - built once (the slow part of a first diagnosis)
        progress("diagnose", 1, 3)
        advisor.coder()
        progress("diagnose", 2, 3)
    result = advisor.diagnose(
        text, answers, name=name, countries=countries, sectors=sectors, venture_id=venture_id
    )
    if progress is not None:
        progress("diagnose", 3, 3)
    return result
