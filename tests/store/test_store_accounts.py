"""Accounts (users, roles, argon2 passwords, API tokens) and migration 0002."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from simap.errors import InvalidInput, NotFound, PermissionDenied
from simap.store import accounts, open_store, repo


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def test_users_roles_and_passwords(store) -> None:
    ada = accounts.add_user(store, "ada", "a long password", role="admin")
    assert ada.can("viewer") and ada.can("analyst") and ada.can("admin")
    ana = accounts.add_user(store, "ana", "a long password", role="analyst", display_name="Ana M.")
    assert ana.can("analyst") and not ana.can("admin") and ana.display_name == "Ana M."
    assert accounts.authenticate(store, "ana", "a long password").username == "ana"
    with pytest.raises(PermissionDenied, match="wrong username or password"):
        accounts.authenticate(store, "ana", "wrong password")
    with pytest.raises(InvalidInput, match="already exists"):
        accounts.add_user(store, "ana", "a long password", role="viewer")
    with pytest.raises(InvalidInput, match="role must be one of"):
        accounts.add_user(store, "bob", "a long password", role="boss")
    with pytest.raises(InvalidInput, match="at least 12"):
        accounts.add_user(store, "bob", "short", role="viewer")
    with pytest.raises(InvalidInput, match="username"):
        accounts.add_user(store, "Bob Smith", "a long password", role="viewer")
    assert [u.username for u in accounts.list_users(store)] == ["ada", "ana"]
    ev = repo.load_events(store)
    assert "user_added" in set(ev["action"])


def test_last_admin_is_kept_and_removal_keeps_history(store) -> None:
    accounts.add_user(store, "ada", "a long password", role="admin")
    with pytest.raises(PermissionDenied, match="last admin"):
        accounts.remove_user(store, "ada", actor="ada")
    with pytest.raises(PermissionDenied, match="last admin"):
        accounts.set_role(store, "ada", "viewer", actor="ada")
    accounts.add_user(store, "ana", "a long password", role="analyst")
    token, _ = accounts.create_token(store, "ana", "script", actor="ana")
    accounts.remove_user(store, "ana", actor="ada")
    assert not accounts.get_user(store, "ana").active
    assert accounts.account_for_token(store, token) is None  # tokens die with the account
    with pytest.raises(PermissionDenied):
        accounts.authenticate(store, "ana", "a long password")
    with pytest.raises(NotFound):
        accounts.remove_user(store, "nobody", actor="ada")


def test_tokens_are_hashed_and_revocable(store) -> None:
    ana = accounts.add_user(store, "ana", "a long password", role="analyst")
    vic = accounts.add_user(store, "vic", "a long password", role="viewer")
    token, info = accounts.create_token(store, "ana", "script", actor="ana")
    assert token.startswith("simap_") and info.prefix == token[:12]
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").scalars().all()
    assert token not in stored
    assert accounts.account_for_token(store, token).username == ana.username
    assert accounts.account_for_token(store, "simap_nope") is None
    with pytest.raises(PermissionDenied):
        accounts.revoke_token(store, info.id, actor=vic)
    accounts.revoke_token(store, info.id, actor=ana)
    assert accounts.account_for_token(store, token) is None
    assert accounts.list_tokens(store, "ana")[0].revoked


def test_migration_0002_up_and_down(project_path) -> None:
    store = open_store(project_path)
    names = set(sa.inspect(store.engine).get_table_names())
    assert {
        "users",
        "api_tokens",
        "coding_sets",
        "coding_set_items",
        "gold_labels",
        "project_settings",
    } <= names
    from alembic import command

    from simap.store.db import alembic_config

    cfg = alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "users" not in set(sa.inspect(store.engine).get_table_names())
    assert store.pending()[0] == "0002"
    store.migrate(backup=False)
    assert "users" in set(sa.inspect(store.engine).get_table_names())
    store.dispose()


def test_an_id_beyond_a_database_integer_is_no_token(database) -> None:
    # PostgreSQL INTEGER is 32-bit: 2**31 was an overflow (500 from the API), now "not found"
    s = open_store(database)
    try:
        admin = accounts.add_user(s, "adm", "a long password", role="admin")
        for token_id in (2**31, 2**63 - 1, 0):
            with pytest.raises(NotFound, match="does not exist"):
                accounts.revoke_token(s, token_id, actor=admin)
    finally:
        s.dispose()
