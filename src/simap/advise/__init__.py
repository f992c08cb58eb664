"""Advise: see docs/ARCHITECTURE.md (planned stage)."""
