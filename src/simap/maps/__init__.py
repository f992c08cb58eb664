"""Landscape maps: which codes are present, the ventures x codes matrix and its statistics."""

from simap.maps.analytics import (
    LandscapeMap,
    build_map,
    cooccurrence,
    cooccurrence_table,
    evidence_quotes,
    prevalence,
    wilson_interval,
)
from simap.maps.select import code_matrix, effective_codes, resolve_assignments

__all__ = [
    "LandscapeMap",
    "build_map",
    "code_matrix",
    "cooccurrence",
    "cooccurrence_table",
    "effective_codes",
    "evidence_quotes",
    "prevalence",
    "resolve_assignments",
    "wilson_interval",
]
