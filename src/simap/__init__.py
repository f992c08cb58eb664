"""simap: Social Innovation Mapping.

Ingest venture texts, code them against a versioned codebook with evidence, review, discover,
map the landscape and advise. The library does the work; ``simap.cli`` and ``simap.web`` are
thin shells over it. Start with :class:`simap.pipeline.Project`.
"""

from simap.errors import SimapError

__version__ = "0.1.0"

__all__ = ["SimapError", "__version__"]
