"""The advice results: pydantic models, JSON-serialisable (the web app serves them as they are).

Every claim in a brief points at :class:`Evidence`: a sentence of the description (with its
character offsets), a questionnaire answer, or a sentence of a peer venture on the map. Evidence
ids (``E1``, ``P3``...) are unique within one result and become the anchors of the briefs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EvidenceSource = Literal["text", "answer", "map"]


class Evidence(BaseModel):
    """One piece of evidence: a quoted sentence or a questionnaire answer."""

    id: str = ""
    source: EvidenceSource
    text: str
    score: float | None = None
    field: str | None = None
    start: int | None = None
    end: int | None = None
    phrase: str | None = None
    question_id: str | None = None
    question: str | None = None
    answer: str | None = None
    venture_id: str | None = None
    venture_name: str | None = None


class CodeEvidence(BaseModel):
    """A code the venture exhibits, how sure we are, and the evidence behind it."""

    code_id: str
    kind: str
    name: str
    score: float = Field(ge=0.0, le=1.0)
    present: bool = True
    sources: list[EvidenceSource] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class BarrierSupport(BaseModel):
    """How often a principle co-occurs with one barrier on the map."""

    barrier: str
    n_both: int
    n_barrier: int
    share: float
    lift: float | None = None


class PrincipleRecommendation(BaseModel):
    """A design principle that peers facing the same barriers use."""

    code_id: str
    name: str
    score: float
    already_used: bool = False
    recommended: bool = False
    to_explore: bool = False
    """Ranked high enough to recommend, but no peer on the map shows it with a quote."""
    expected: bool = False
    support: list[BarrierSupport] = Field(default_factory=list)
    landscape_share: float = 0.0


class PeerVenture(BaseModel):
    """A venture of the map facing the same barrier in another context, with the principle it uses."""

    venture_id: str
    name: str
    countries: list[str] = Field(default_factory=list)
    sectors: list[str] = Field(default_factory=list)
    barrier: str
    principle: str
    contrast: str
    different_context: bool
    barrier_evidence: Evidence | None = None
    principle_evidence: Evidence | None = None


class SimilarVenture(BaseModel):
    """A venture of the map close to another text by cosine of the mean sentence embeddings."""

    venture_id: str
    name: str
    similarity: float
    countries: list[str] = Field(default_factory=list)
    sectors: list[str] = Field(default_factory=list)
    shared_codes: list[str] = Field(default_factory=list)
    """Codes both have (a diagnosis: the venture's present codes; a portfolio: its nearest member's)."""
    nearest_to: str | None = None
    """Portfolios: the id of the portfolio venture it is nearest to."""


class SolutionItem(BaseModel):
    """A consulting solution of the codebook, attached to the code it answers."""

    code_id: str
    code_name: str
    kind: str
    title: str
    description: str
    why: str = ""
    prerequisites: list[str] = Field(default_factory=list)
    cost: str = "medium"
    example_ventures: list[str] = Field(default_factory=list)
    example_ids: dict[str, str] = Field(default_factory=dict)


class MapInfo(BaseModel):
    """Which map the advice was computed against (provenance for the brief's method note)."""

    n_ventures: int
    codebook: str
    codebook_version: str
    min_score: float
    coder: str | None = None
    database: str | None = None


class Diagnosis(BaseModel):
    """What ``simap diagnose`` returns: codes with evidence, principles, peers, solutions."""

    name: str = "Your venture"
    countries: list[str] = Field(default_factory=list)
    sectors: list[str] = Field(default_factory=list)
    text: str | None = None
    barriers: list[CodeEvidence] = Field(default_factory=list)
    principles: list[CodeEvidence] = Field(default_factory=list)
    challenges: list[CodeEvidence] = Field(default_factory=list)
    possible: list[CodeEvidence] = Field(default_factory=list)
    focus_barriers: list[str] = Field(default_factory=list)
    recommendations: list[PrincipleRecommendation] = Field(default_factory=list)
    peers: list[PeerVenture] = Field(default_factory=list)
    similar: list[SimilarVenture] = Field(default_factory=list)
    """The ventures of the map whose text is nearest (empty when the map has no text index)."""
    solutions: list[SolutionItem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    map: MapInfo
    text_min_score: float | None = None
    """From which score a code of the venture's own text counted as present (None: read as the map)."""
    max_text_codes: int | None = None
    """How many codes of the venture's own text were claimed at most (0: no cap)."""
    generated_at: str = ""

    def evidence_items(self) -> list[Evidence]:
        """Every evidence item of the diagnosis, in brief order (ids are unique)."""
        items: list[Evidence] = []
        for group in (self.barriers, self.principles, self.challenges, self.possible):
            for code in group:
                items.extend(code.evidence)
        return items


class CoverageRow(BaseModel):
    """One code: how often it occurs in the portfolio and in the whole landscape."""

    code_id: str
    kind: str
    name: str
    n_portfolio: int
    share_portfolio: float
    n_landscape: int
    share_landscape: float
    ratio: float | None = None
    ventures: list[str] = Field(default_factory=list)


class WhiteSpace(BaseModel):
    """A barrier common in the landscape that few ventures answer with the principles that work."""

    barrier: str
    name: str
    n_landscape: int
    share_landscape: float
    working_principles: list[str] = Field(default_factory=list)
    n_answered_landscape: int = 0
    share_answered_landscape: float = 0.0
    n_portfolio: int = 0
    n_answered_portfolio: int = 0
    gap: float = 0.0
    example: Evidence | None = None


class ContextGap(BaseModel):
    """A country or sector of the landscape that the portfolio does not (or barely) reach."""

    dimension: Literal["country", "sector"]
    value: str
    n_landscape: int
    n_with_barrier: int
    n_portfolio: int
    population: int | None = None  # countries: the country's population (ranks ties; None: unknown)


class FundingOpportunity(BaseModel):
    """An ecosystem challenge read as an opening for a grantmaker."""

    code_id: str
    name: str
    funder_angle: str
    n_portfolio: int
    n_landscape: int
    evidence: list[Evidence] = Field(default_factory=list)
    solutions: list[SolutionItem] = Field(default_factory=list)


class PortfolioReport(BaseModel):
    """What ``simap portfolio`` returns: coverage, white space, context gaps, funding openings."""

    venture_ids: list[str]
    names: dict[str, str] = Field(default_factory=dict)
    missing_ids: list[str] = Field(default_factory=list)
    n_portfolio: int
    n_landscape: int
    coverage: list[CoverageRow] = Field(default_factory=list)
    white_space: list[WhiteSpace] = Field(default_factory=list)
    countries: list[ContextGap] = Field(default_factory=list)
    sectors: list[ContextGap] = Field(default_factory=list)
    opportunities: list[FundingOpportunity] = Field(default_factory=list)
    similar_outside: list[SimilarVenture] = Field(default_factory=list)
    """Ventures outside the portfolio nearest (by text) to one of its ventures, best first."""
    notes: list[str] = Field(default_factory=list)
    map: MapInfo
    generated_at: str = ""
