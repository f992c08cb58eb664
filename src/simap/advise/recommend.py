"""From barriers to principles and peers, on the co-occurrence of the map.

Principles. For a venture facing barriers ``B`` the map's ventures that face ``b`` in ``B`` are
its peers. For each design principle ``d``::

    support(d, b) = #ventures with d and b          share(d, b) = support(d, b) / #ventures with b
    lift(d, b)    = share(d, b) / share(d)          (how much more often than across the landscape)
    score(d)      = mean over b in B of (support(d, b) + w * prior(d, b)) / (#ventures with b + w)

``prior(d, b)`` is 1 when the codebook links ``d`` and ``b`` (``related``: the expected links of
the method, e.g. DP5 -> B2) and the landscape share of ``d`` otherwise; with ``w = 1`` it only
matters where the map knows little (a rare barrier), and it keeps the method's expectations in
play until the map has evidence. Principles are ranked by score, then lift, then landscape share;
the top ``k`` the venture does not use yet, with support on the map or a codebook link, are
*recommended*. On the real DPG data this ranking beats always recommending the
most common principles (``bench/advise_quality.py``; docs/benchmarks.md, "Advice").

Peers ("common approaches in disparate contexts"): ventures of the map that face one of the
barriers and use a recommended principle, from a different country or sector. Among them we take
``k`` greedily: a known different context first, then a country, sector and principle not yet
shown, then the weaker of the two evidence scores. When the map has a text index and the query
has a vector (``query``), text similarity breaks the remaining ties (in place of the id order):
between equally strong, equally novel peers, the one whose description reads most like the query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from simap.advise.landscape import AdviceIndex
from simap.advise.models import BarrierSupport, PeerVenture, PrincipleRecommendation

N_RECOMMENDED = 3
N_PEERS = 5
PRIOR_WEIGHT = 1.0
_SHORTLIST = 400  # peers considered per tier (by evidence strength) before the diversity pass


def _counts(index: AdviceIndex, exclude: Iterable[int]) -> tuple[np.ndarray, int]:
    """The matrix without the excluded rows (a venture never advises itself) and its size."""
    drop = sorted(set(exclude))
    if not drop:
        return index.matrix, len(index.ids)
    keep = np.ones(len(index.ids), dtype=bool)
    keep[drop] = False
    return index.matrix[keep], int(keep.sum())


def linked(index: AdviceIndex, principle: str, barrier: str) -> bool:
    """Whether the codebook expects ``principle`` to answer ``barrier`` (``related`` either way)."""
    book = index.codebook
    return barrier in book.code(principle).related or principle in book.code(barrier).related


def recommend_principles(
    index: AdviceIndex,
    barriers: Sequence[str],
    *,
    uses: Iterable[str] = (),
    k: int = N_RECOMMENDED,
    exclude: Iterable[int] = (),
    prior_weight: float = PRIOR_WEIGHT,
) -> list[PrincipleRecommendation]:
    """Every design principle with its support against ``barriers``, best first.

    ``uses``: principles the venture already uses (shown, never recommended). ``exclude``: map
    rows left out of the statistics (the venture itself when it is on the map).
    """
    matrix, total = _counts(index, exclude)
    dps = index.kind_ids("design_principle")
    used = set(uses)
    d_mat = matrix[:, [index.col_of[d] for d in dps]]
    n_d = d_mat.sum(axis=0)
    base = n_d / total if total else np.zeros(len(dps))
    known = [b for b in dict.fromkeys(barriers) if b in index.col_of]
    support: dict[str, list[BarrierSupport]] = {d: [] for d in dps}
    score = np.zeros(len(dps))
    lift_sum = np.zeros(len(dps))
    evidenced = np.zeros(len(dps), dtype=bool)
    expected = np.zeros(len(dps), dtype=bool)
    for b in known:
        has_b = matrix[:, index.col_of[b]]
        n_b = int(has_b.sum())
        both = d_mat[has_b].sum(axis=0) if n_b else np.zeros(len(dps), dtype=np.int64)
        prior = np.array([1.0 if linked(index, d, b) else base[i] for i, d in enumerate(dps)])
        expected |= np.array([linked(index, d, b) for d in dps])
        evidenced |= both > 0
        score += (both + prior_weight * prior) / (n_b + prior_weight) if n_b + prior_weight else 0.0
        for i, d in enumerate(dps):
            share = float(both[i] / n_b) if n_b else 0.0
            lift = share / float(base[i]) if n_b and base[i] > 0 else None
            lift_sum[i] += lift or 0.0
            support[d].append(
                BarrierSupport(barrier=b, n_both=int(both[i]), n_barrier=n_b, share=share, lift=lift)
            )
    if known:
        score /= len(known)
        lift_sum /= len(known)
    order = sorted(range(len(dps)), key=lambda i: (-score[i], -lift_sum[i], -base[i], dps[i]))
    out: list[PrincipleRecommendation] = []
    n_rec = 0
    for i in order:
        d = dps[i]
        rec = d not in used and bool(evidenced[i] or expected[i]) and n_rec < k
        n_rec += int(rec)
        out.append(
            PrincipleRecommendation(
                code_id=d,
                name=index.codebook.code(d).name,
                score=float(score[i]),
                already_used=d in used,
                recommended=rec,
                expected=bool(expected[i]),
                support=support[d],
                landscape_share=float(base[i]),
            )
        )
    return out


def popular_principles(index: AdviceIndex, *, exclude: Iterable[int] = ()) -> list[str]:
    """The baseline: design principles by how many ventures of the map use them."""
    matrix, _ = _counts(index, exclude)
    dps = index.kind_ids("design_principle")
    n_d = matrix[:, [index.col_of[d] for d in dps]].sum(axis=0)
    return [dps[i] for i in sorted(range(len(dps)), key=lambda i: (-n_d[i], dps[i]))]


def _same(mine: list[str], theirs: list[str]) -> bool | None:
    """Whether two context lists overlap; None when either is unknown."""
    if not mine or not theirs:
        return None
    return bool({m.casefold() for m in mine} & {t.casefold() for t in theirs})


def _contrast(
    countries: list[str], sectors: list[str], p_countries: list[str], p_sectors: list[str]
) -> tuple[bool, str, int]:
    """(different context?, a phrase saying how, tier: 0 known different, 1 unknown, 2 same)."""
    same_c, same_s = _same(countries, p_countries), _same(sectors, p_sectors)
    where = ", ".join(p_countries[:3]) or "country not recorded"
    what = ", ".join(p_sectors[:2]) or "sector not recorded"
    if same_c is False and same_s is False:
        return True, f"different country ({where}) and sector ({what})", 0
    if same_c is False:
        return True, f"different country ({where})", 0
    if same_s is False:
        return True, f"different sector ({what})", 0
    if same_c and same_s:
        return False, f"same country and sector ({where}; {what})", 2
    return False, f"context not comparable ({where}; {what})", 1


def find_peers(
    index: AdviceIndex,
    barriers: Sequence[str],
    principles: Sequence[str],
    *,
    countries: Sequence[str] = (),
    sectors: Sequence[str] = (),
    k: int = N_PEERS,
    exclude: Iterable[int] = (),
    allow_same_context: bool = False,
    query: np.ndarray | None = None,
) -> list[PeerVenture]:
    """Up to ``k`` ventures that face one of ``barriers`` and use one of ``principles`` (in order of
    preference), in a different country or sector when the map can tell. ``query``: the vector of
    the venture's text, to break ties by text similarity (needs ``index.text``)."""
    b_ids = [b for b in dict.fromkeys(barriers) if b in index.col_of]
    d_ids = [d for d in dict.fromkeys(principles) if d in index.col_of]
    if not b_ids or not d_ids or k <= 0:
        return []
    mine_c, mine_s = list(countries), list(sectors)
    b_cols = [index.col_of[b] for b in b_ids]
    d_cols = [index.col_of[d] for d in d_ids]
    mask = np.asarray(index.matrix[:, b_cols].any(axis=1) & index.matrix[:, d_cols].any(axis=1))
    for skip in exclude:
        mask[skip] = False
    scores = np.nan_to_num(index.scores, nan=1.0)
    Candidate = tuple[int, float, int, str, str, bool, str, float]
    candidates: list[Candidate] = []
    rows = np.flatnonzero(mask)
    sims = np.zeros(len(rows), dtype=np.float32)
    if query is not None and index.text is not None and len(rows):
        sims = np.nan_to_num(index.text.similarity([index.ids[int(r)] for r in rows], query), nan=-1.0)
    for found, sim in zip(rows, sims, strict=True):
        r = int(found)
        have_b = [b for b, c in zip(b_ids, b_cols, strict=True) if index.matrix[r, c]]
        have_d = [d for d, c in zip(d_ids, d_cols, strict=True) if index.matrix[r, c]]
        barrier = max(have_b, key=lambda b: scores[r, index.col_of[b]])
        principle = have_d[0]  # the most recommended principle it uses
        strength = float(min(scores[r, index.col_of[barrier]], scores[r, index.col_of[principle]]))
        different, contrast, tier = _contrast(mine_c, mine_s, index.countries[r], index.sectors[r])
        if tier == 2 and not allow_same_context:
            continue
        candidates.append((tier, strength, r, barrier, principle, different, contrast, float(sim)))
    candidates.sort(key=lambda c: (c[0], -c[1], d_ids.index(c[4]), -c[7], index.ids[c[2]]))
    shortlist = [c for t in (0, 1, 2) for c in [x for x in candidates if x[0] == t][:_SHORTLIST]]
    seen_c: set[str] = set()
    seen_s: set[str] = set()
    seen_d: set[str] = set()

    def novelty(c: Candidate) -> tuple[int, int, float, float]:
        r = c[2]
        new = int(bool(index.countries[r]) and not {x.casefold() for x in index.countries[r]} & seen_c)
        new += int(bool(index.sectors[r]) and not {x.casefold() for x in index.sectors[r]} & seen_s)
        new += int(c[4] not in seen_d)
        return (-c[0], new, c[1], c[7])

    chosen: list[Candidate] = []
    seen_text: set[str] = set()
    while shortlist and len(chosen) < k:
        best = max(shortlist, key=novelty)
        shortlist.remove(best)
        quote = index.evidence.get((best[2], best[3]), {}).get("text")
        if quote and quote in seen_text:  # a copy of a venture already shown (same description)
            continue
        seen_text.add(quote or "")
        chosen.append(best)
        seen_c |= {x.casefold() for x in index.countries[best[2]]}
        seen_s |= {x.casefold() for x in index.sectors[best[2]]}
        seen_d.add(best[4])
    return [
        PeerVenture(
            venture_id=index.ids[r],
            name=index.names[r],
            countries=index.countries[r],
            sectors=index.sectors[r],
            barrier=barrier,
            principle=principle,
            contrast=contrast,
            different_context=different,
            barrier_evidence=index.quote(r, barrier),
            principle_evidence=index.quote(r, principle),
        )
        for _tier, _s, r, barrier, principle, different, contrast, _sim in chosen
    ]
