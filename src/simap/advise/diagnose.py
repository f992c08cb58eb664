"""Diagnose one venture against a coded map: its codes with evidence, principles, peers, solutions.

``diagnose(project, text=..., answers=...)`` is the one-call API. An :class:`Advisor` does the same
but keeps the map index and the fitted coder between calls (a web server holds one per project);
build it again after the project is re-coded or reviewed.

The description (and the free-text questionnaire answers) are coded with the project's own
zero-shot coder, fitted with the parameters of the project's latest coding run. A founder's own
words are not a registry blurb, though: first person, spoken, several sentences about one
venture. So the free text is read differently (measured on ``bench/diagnose_quality.py``): its
coder is fitted on the codebook plus first-person example sentences (``founder_voice.yaml``);
every sentence is scored as written and in a normalised third-person voice
(:mod:`simap.advise.voice`; a code keeps the better reading); and with the text defaults
(``TEXT_DEFAULTS``) a code of the text counts as present from a lower score than on the map, and at
most a few codes are claimed (the rest are listed as *possible*). A venture of the map diagnosed by
its id is read exactly as the map reads it. Questionnaire answers map to codes through the
questionnaire's rules (:mod:`simap.advise.questionnaire`).

When the project's embedder gives dense vectors (not TF-IDF), the diagnosis also lists the ventures
of the map whose text is most similar (cosine of mean sentence embeddings, through the nearest-
neighbour index of :mod:`simap.advise.similar`), and text similarity breaks ties between peers.

A principle is *recommended* only when a peer shown in the diagnosis uses it against the same
barrier and the map quotes its evidence; a top-ranked principle without such a peer is listed
as *to explore*.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simap.advise.landscape import AdviceIndex
from simap.advise.models import (
    CodeEvidence,
    Diagnosis,
    Evidence,
    PeerVenture,
    PrincipleRecommendation,
    SimilarVenture,
)
from simap.advise.questionnaire import (
    Questionnaire,
    context_answers,
    questionnaire,
    score_answers,
    text_answers,
)
from simap.advise.recommend import N_PEERS, find_peers, recommend_principles
from simap.advise.similar import N_SIMILAR
from simap.advise.solutions import solutions
from simap.codebook.schema import Codebook
from simap.defaults import DEFAULT_MIN_SCORE
from simap.errors import InvalidInput

POSSIBLE_MIN = 0.25
"""Codes scoring from here to ``min_score`` are listed as *possible* (never claimed as present)."""
MAX_POSSIBLE = 4
TEXT_DEFAULTS: dict[str, dict[str, float]] = {
    "static": {"min_score": 0.25, "max_codes": 3},
    "minilm": {"min_score": 0.425, "max_codes": 5},
}
"""Per embedding backend: from which score a code of the venture's own text counts as present, and
how many codes of the text are claimed at most. Chosen as the best F2 (recall weighted twice) in
``bench/diagnose_quality.py --grid``: static on the ``tune`` texts; minilm on ``tune`` + ``heldout``
(its tune-only choice, 0.5 / 3, fell to 0.586 held-out recall). The ``fresh`` texts only measure.
Backends not listed read the text with the map's ``min_score`` and ``TEXT_FALLBACK_MAX_CODES``."""
TEXT_FALLBACK_MAX_CODES = 4
_CODER_PARAMS = ("units", "C", "cue_weight", "threshold", "evidence_k")
_QUERY_ID = "__query__"


class Advisor:
    """Advice against one project's map; caches the map index and the fitted coder."""

    def __init__(
        self,
        project: Any,
        *,
        codebook: str | Codebook | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        embedder: str | None = None,
        form: Questionnaire | None = None,
        text_min_score: float | None = None,
        max_text_codes: int | None = None,
        voice: bool = True,
        founder_examples: bool = True,
        similar: bool = True,
    ) -> None:
        """``text_min_score``: from which score a code of the free text counts as present;
        ``max_text_codes``: how many codes of the free text are claimed at most (0: no cap); both
        default to ``TEXT_DEFAULTS`` of the embedder. ``voice``: also read each sentence in the
        third person (:mod:`simap.advise.voice`). ``founder_examples``: fit the coder of the free text on
        the codebook plus first-person example sentences (``founder_voice.yaml``). ``similar``: build the
        text index of the map (venture vectors) for the most similar ventures and the peer tie-break."""
        self.project = project
        self.codebook = project.current_codebook(codebook)
        self.min_score = float(min_score)
        self.embedder = embedder
        self.form = form or questionnaire()
        self._text_min_score = text_min_score
        self._max_text_codes = max_text_codes
        self.voice = voice
        self.founder_examples = founder_examples
        self._text_coder: Any = None
        self._index: AdviceIndex | None = None
        self._coder: Any = None
        self.similar = similar
        self._text_ready = False

    @property
    def index(self) -> AdviceIndex:
        if self._index is None:
            self._index = AdviceIndex.from_project(
                self.project, codebook=self.codebook, min_score=self.min_score
            )
        return self._index

    def text_index(self) -> Any:
        """The map's :class:`~simap.advise.similar.TextNeighbours` (built once; None when off or no text)."""
        if self.similar and not self._text_ready:
            coder = self.coder()
            self.index.with_text(self.project, coder.embedder, getattr(coder, "cache", None))
            self._text_ready = True
        return self.index.text if self.similar else None

    # -- coding the venture's own text ------------------------------------------------------
    def _text_defaults(self) -> dict[str, float]:
        name = str(getattr(getattr(self.text_coder(), "embedder", None), "name", "") or "")
        return TEXT_DEFAULTS.get(name, {})

    @property
    def text_min_score(self) -> float:
        """From which score a code of the venture's own text counts as present."""
        if self._text_min_score is not None:
            return float(self._text_min_score)
        return float(self._text_defaults().get("min_score", self.min_score))

    @property
    def max_text_codes(self) -> int:
        """How many codes of the venture's own text are claimed at most (0: no cap)."""
        if self._max_text_codes is not None:
            return int(self._max_text_codes)
        return int(self._text_defaults().get("max_codes", TEXT_FALLBACK_MAX_CODES))

    def coder(self) -> Any:
        """The project's zero-shot coder, fitted as in its latest coding run of this codebook."""
        if self._coder is None:
            self._coder = self._fit_coder(self.codebook)
        return self._coder

    def text_coder(self) -> Any:
        """The coder of the venture's own words: as :meth:`coder`, fitted on the codebook plus the
        founder-voice sentences of :mod:`simap.advise.voice` (when ``founder_examples``)."""
        if not self.founder_examples:
            return self.coder()
        if self._text_coder is None:
            from simap.advise.voice import with_founder_examples

            book = with_founder_examples(self.codebook)
            self._text_coder = self.coder() if book is self.codebook else self._fit_coder(book)
        return self._text_coder

    def _fit_coder(self, book: Codebook) -> Any:
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
        return self.project.make_coder(
            book,
            embedder=name,
            embedder_params=dict(emb_params) if isinstance(emb_params, dict) else None,
            corpus=corpus,
            **coder_params,
        )

    def code_text(self, texts: Mapping[str, str], *, free_text: bool = True) -> list[CodeEvidence]:
        """Code ``{field: text}`` (e.g. the description and free-text answers) with the coder.

        ``free_text``: the venture's own words, read with the text defaults (third-person reading,
        ``text_min_score``, ``max_text_codes``); else (a venture of the map) exactly as the map
        reads it (``min_score``, no cap).
        """
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
        coder = self.text_coder() if free_text else self.coder()
        suggestions = self._suggest(coder, segments, voice=self.voice and free_text)
        prompts = {q.id: " ".join(q.prompt.split()) for q in self.form.questions}
        threshold = self.text_min_score if free_text else self.min_score
        cap = self.max_text_codes if free_text else 0
        ranked = suggestions.sort_values("score", ascending=False, kind="stable")
        claimed = set(ranked[ranked["score"] >= threshold]["code_id"].astype(str).head(cap or None))
        out: list[CodeEvidence] = []
        for rec in suggestions.to_dict("records"):
            code = self.codebook.code(str(rec["code_id"]))
            score = float(rec["score"])
            items = []
            for i, item in enumerate(rec["evidence"] or []):
                item_score = float(item.get("score") or 0.0)
                if i > 0 and item_score < threshold:
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
                    present=code.id in claimed,
                    sources=["text"],
                    evidence=items,
                )
            )
        return out

    @staticmethod
    def _suggest(coder: Any, segments: pd.DataFrame, *, voice: bool) -> pd.DataFrame:
        """The coder's suggestions for the sentences, read as written and (``voice``) in the third person."""
        if not voice or not hasattr(coder, "score_segments"):
            return coder.predict(segments)
        from simap.advise.voice import third_person
        from simap.coding.zeroshot import aggregate, sigmoid

        seg = segments.reset_index(drop=True)
        z, p_start, p_end = coder.score_segments(seg)
        spoken = [third_person(t) for t in seg["text"].astype(str)]
        changed = np.flatnonzero([a != b for a, b in zip(spoken, seg["text"].astype(str), strict=True)])
        if len(changed):
            other = seg.iloc[changed].assign(text=[spoken[i] for i in changed]).reset_index(drop=True)
            z2, _, _ = coder.score_segments(other)
            better = z2 > z[changed]
            rows, cols = np.nonzero(better)
            z[changed[rows], cols] = z2[rows, cols]
            # the third-person reading won: quote the founder's whole sentence (no phrase offsets)
            lengths = seg["text"].astype(str).str.len().to_numpy()
            p_start[changed[rows], cols] = 0
            p_end[changed[rows], cols] = lengths[changed[rows]]
        score = sigmoid(z - coder.thresholds())
        return aggregate(seg, z, score, coder.code_ids_, coder.evidence_k, p_start, p_end)

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
        n_similar: int = N_SIMILAR,
    ) -> Diagnosis:
        """See :func:`diagnose`. ``n_similar``: how many most similar ventures to list (0: none)."""
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
        coded = self.code_text(texts, free_text=venture_id is None)
        answered = score_answers(answers, codebook=self.codebook, form=self.form) if answers else []
        codes = _merge(coded, answered, self.min_score)
        query = None
        text_index = self.text_index() if (n_similar > 0 or n_peers > 0) else None
        if text_index is not None:
            stored = text_index.vector_of(venture_id) if venture_id is not None else None
            query = stored if stored is not None else text_index.embed_texts(texts)
        diagnosis = self._assemble(
            codes,
            name=name or context.get("name") or "Your venture",
            countries=list(countries if countries is not None else context.get("countries") or []),
            sectors=list(sectors if sectors is not None else context.get("sectors") or []),
            text=description,
            exclude=exclude,
            n_peers=n_peers,
            query=query,
            n_similar=n_similar,
        )
        if venture_id is None and coded:
            diagnosis.text_min_score = self.text_min_score
            diagnosis.max_text_codes = self.max_text_codes
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
        query: np.ndarray | None = None,
        n_similar: int = 0,
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
            index,
            focus,
            chosen,
            countries=countries,
            sectors=sectors,
            k=n_peers,
            exclude=exclude,
            query=query,
        )
        recs, peers = _back_with_peers(
            index,
            recs,
            peers,
            focus,
            countries=countries,
            sectors=sectors,
            exclude=exclude,
            k=n_peers,
            query=query,
        )
        chosen = [r.code_id for r in recs if r.recommended]
        explore = [r.code_id for r in recs if r.to_explore]
        if explore:
            notes.append(
                f"{', '.join(explore)} rank among the principles used against {', '.join(focus)}, but no "
                "peer on this map shows one with a quoted piece of evidence, so they are listed to explore, "
                "not recommended."
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
                query=query,
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
            similar=_similar(index, query, n_similar, exclude, {c.code_id for c in present}),
            solutions=sol,
            notes=notes,
            map=index.info,
            generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        _number_evidence(diagnosis)
        return diagnosis


def _similar(
    index: AdviceIndex, query: np.ndarray | None, k: int, exclude: list[int], codes: set[str]
) -> list[SimilarVenture]:
    """The ``k`` ventures of the map whose text is nearest ``query`` (none without a text index)."""
    if query is None or index.text is None or k <= 0:
        return []
    found = index.text.nearest(query, k, exclude=[index.ids[r] for r in exclude])
    return [index.similar(index.row_of[vid], sim, codes) for vid, sim in found if vid in index.row_of]


def _quoted(peer: PeerVenture) -> bool:
    ev = peer.principle_evidence
    return ev is not None and bool(ev.text.strip())


def _back_with_peers(
    index: AdviceIndex,
    recs: list[PrincipleRecommendation],
    peers: list[PeerVenture],
    focus: list[str],
    *,
    countries: list[str],
    sectors: list[str],
    exclude: list[int],
    k: int,
    query: np.ndarray | None = None,
) -> tuple[list[PrincipleRecommendation], list[PeerVenture]]:
    """Keep a principle *recommended* only when a shown peer uses it with a quote.

    A recommended principle with no such peer among ``peers`` gets one from the map when there is
    one (in place of a peer whose principle another peer already shows, so at most ``k`` peers);
    otherwise it is demoted to *to explore*.
    """
    peers = list(peers)
    out: list[PrincipleRecommendation] = []
    for rec in recs:
        if not rec.recommended or any(p.principle == rec.code_id and _quoted(p) for p in peers):
            out.append(rec)
            continue
        shown = exclude + [index.row_of[p.venture_id] for p in peers]
        found = [
            p
            for p in find_peers(
                index,
                focus,
                [rec.code_id],
                countries=countries,
                sectors=sectors,
                k=k,
                exclude=shown,
                query=query,
            )
            if _quoted(p)
        ]
        if found and len(peers) >= k:
            counts = Counter(p.principle for p in peers)
            spare = next((i for i in range(len(peers) - 1, -1, -1) if counts[peers[i].principle] > 1), None)
            if spare is None:
                found = []
            else:
                del peers[spare]
        if found:
            peers.append(found[0])
            out.append(rec)
        else:
            out.append(rec.model_copy(update={"recommended": False, "to_explore": True}))
    return out, peers


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
    text_min_score: float | None = None,
    max_text_codes: int | None = None,
    codebook: str | Codebook | None = None,
    progress: Any = None,
) -> Diagnosis:
    """Diagnose a venture from its description and/or questionnaire answers against ``project``'s map.

    Returns its barriers, principles and challenges with evidence, the principles that peers use
    against the same barriers (support and lift), up to five peers facing the same barrier in a
    different country or sector, and the matching consulting solutions. ``venture_id`` diagnoses a
    venture of the map itself (its stored text, read as the map reads it; it is left out of the
    statistics and peers). ``text_min_score`` and ``max_text_codes`` override the text defaults
    (``TEXT_DEFAULTS``) for the venture's own words; ``embedder`` codes the text with another
    backend than the map's.
    """
    advisor = Advisor(
        project,
        codebook=codebook,
        min_score=min_score,
        embedder=embedder,
        text_min_score=text_min_score,
        max_text_codes=max_text_codes,
    )
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
