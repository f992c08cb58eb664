"""Store: the project database (SQLite by default, PostgreSQL by URL), migrations, event log."""

from simap.store.db import Store, open_store

__all__ = ["Store", "open_store"]
