"""Defaults shared by the library, the CLI and the docs (no heavy imports here)."""

DEFAULT_EMBEDDER = "static"
"""Chosen by measurement (docs/benchmarks.md): zero-shot kappa 0.48 on the dev labels at about
100x the speed of MiniLM; `minilm` is the quality alternative, `tfidf` needs no model at all."""

DEFAULT_CODEBOOK = "social-innovation"
DEFAULT_MIN_SCORE = 0.5
"""A machine suggestion counts as present on the map from this calibrated score."""
DEFAULT_WORKERS = 2

DEFAULT_BATCH_VENTURES = 500
"""Ventures per coding batch (`simap code --batch`): the unit of memory, of a commit and of resuming."""
