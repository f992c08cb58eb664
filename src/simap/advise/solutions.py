"""The consulting solutions library: the ``solutions`` of each code of the codebook.

Solutions live in the codebook (``codes[].solutions``: title, description, why, prerequisites,
cost, example ventures), so they are versioned and editable with it; see docs/codebooks.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from simap.advise.landscape import AdviceIndex
from simap.advise.models import SolutionItem
from simap.codebook.schema import Codebook
from simap.errors import InvalidInput

COST_ORDER = {"low": 0, "medium": 1, "high": 2}


def solutions(
    codebook: Codebook,
    codes: Iterable[str] | None = None,
    *,
    kinds: Iterable[str] | None = None,
    index: AdviceIndex | None = None,
) -> list[SolutionItem]:
    """The solutions of ``codes`` (default: every active code of ``kinds``, or all), in codebook
    order, cheapest first within a code. With an ``index``, example ventures that are on the map
    get their ids (``example_ids``) so briefs can link them."""
    wanted = list(dict.fromkeys(codes)) if codes is not None else None
    if wanted is not None:
        unknown = [c for c in wanted if c not in codebook.ids()]
        if unknown:
            raise InvalidInput(
                f"unknown code(s) {unknown}; codebook {codebook.name!r} has {', '.join(codebook.ids())}.",
                field="code",
                hint="pass one of the listed code ids",
            )
    kind_set = set(kinds) if kinds is not None else None
    order = wanted if wanted is not None else codebook.ids()
    out: list[SolutionItem] = []
    for code_id in order:
        code = codebook.code(code_id)
        if kind_set is not None and code.kind not in kind_set:
            continue
        ranked = sorted(code.solutions, key=lambda s: COST_ORDER.get(s.cost, 1))
        for sol in ranked:
            ids: dict[str, str] = {}
            if index is not None:
                for name in sol.example_ventures:
                    vid = index.find_by_name(name)
                    if vid is not None:
                        ids[name] = vid
            out.append(
                SolutionItem(
                    code_id=code.id,
                    code_name=code.name,
                    kind=code.kind,
                    title=sol.title,
                    description=" ".join(sol.description.split()),
                    why=" ".join(sol.why.split()),
                    prerequisites=list(sol.prerequisites),
                    cost=sol.cost,
                    example_ventures=list(sol.example_ventures),
                    example_ids=ids,
                )
            )
    return out
