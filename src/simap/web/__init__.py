"""Web: see docs/ARCHITECTURE.md (planned stage)."""
