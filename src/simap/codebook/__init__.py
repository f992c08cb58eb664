"""Codebooks: versioned sets of codes that ventures are coded against."""

from simap.codebook.loader import DEFAULT_CODEBOOK, builtin_names, dump, from_dict, load, load_file
from simap.codebook.schema import Code, Codebook, Solution

__all__ = [
    "DEFAULT_CODEBOOK",
    "Code",
    "Codebook",
    "Solution",
    "builtin_names",
    "dump",
    "from_dict",
    "load",
    "load_file",
]
