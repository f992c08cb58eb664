"""Discover: see docs/ARCHITECTURE.md (planned stage)."""
