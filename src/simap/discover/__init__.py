"""Discover: emerging themes in the sentences the codebook does not explain (``run``, ``themes``,
``ctfidf``) and their promotion into codebook candidates (``candidates``)."""
