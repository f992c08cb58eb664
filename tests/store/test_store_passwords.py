"""Password storage: argon2id at the OWASP parameters, length limits, re-hash of older hashes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type, extract_parameters

from simap.errors import InvalidInput, PermissionDenied
from simap.store import accounts
from simap.store.schema import User

GOOD = "twelve chars"  # exactly 12


def _hash_of(store, username: str) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(sa.select(User.password_hash).where(User.username == username)).scalar_one())


def test_hashes_are_argon2id_at_owasp_parameters(store) -> None:
    accounts.add_user(store, "ana", GOOD, role="analyst")
    stored = _hash_of(store, "ana")
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.type is Type.ID
    # OWASP: m >= 19 MiB with t >= 2 and p = 1 (or m = 46 MiB with t = 1)
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism == 1
    assert GOOD not in stored


def test_password_length_limits(store) -> None:
    with pytest.raises(InvalidInput, match="at least 12 characters; got 11"):
        accounts.add_user(store, "ana", "eleven char", role="analyst")
    with pytest.raises(InvalidInput, match="at most 1024"):
        accounts.add_user(store, "ana", "x" * 1025, role="analyst")
    accounts.add_user(store, "ana", GOOD, role="analyst")
    with pytest.raises(InvalidInput, match="at least 12"):
        accounts.set_password(store, "ana", "short", actor="ana")
    with pytest.raises(PermissionDenied):  # refused before hashing megabytes
        accounts.authenticate(store, "ana", "x" * 100_000)


def test_an_older_hash_is_rehashed_at_log_in(store) -> None:
    accounts.add_user(store, "ana", GOOD, role="analyst")
    legacy = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=2, type=Type.I).hash(GOOD)
    with store.engine.begin() as conn:
        conn.execute(sa.update(User).where(User.username == "ana").values(password_hash=legacy))
    assert accounts.needs_rehash(legacy)
    with pytest.raises(PermissionDenied):  # a wrong password changes nothing
        accounts.authenticate(store, "ana", "wrong password!")
    assert _hash_of(store, "ana") == legacy
    assert accounts.authenticate(store, "ana", GOOD).username == "ana"
    fresh = _hash_of(store, "ana")
    assert fresh != legacy and fresh.startswith("$argon2id$") and not accounts.needs_rehash(fresh)
    assert accounts.authenticate(store, "ana", GOOD).username == "ana"
    assert _hash_of(store, "ana") == fresh  # not re-hashed again


def test_a_hash_of_an_unknown_scheme_denies_cleanly(store) -> None:
    accounts.add_user(store, "ana", GOOD, role="analyst")
    with store.engine.begin() as conn:
        conn.execute(sa.update(User).where(User.username == "ana").values(password_hash="md5$abc"))
    with pytest.raises(PermissionDenied, match="wrong username or password"):
        accounts.authenticate(store, "ana", GOOD)
