"""Accounts of the review workbench: users with a role, passwords (argon2id) and API tokens.

A project is one database, so users and their roles live in it: a role is per project.
Roles, from least to most: ``viewer`` (reads), ``analyst`` (codes, edits the codebook,
imports), ``admin`` (also manages users and coding sets). Tokens for scripts are random
strings shown once; only their SHA-256 is stored.

Passwords are hashed with argon2id at the OWASP parameters (19 MiB, 2 passes, 1 lane); a hash
made with other parameters (an older simap used the argon2-cffi defaults) is re-hashed at the
next successful log-in. Passwords have 12 to 1024 characters.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from simap.errors import InvalidInput, NotFound, PermissionDenied, expected
from simap.store.db import Store
from simap.store.repo import log_event
from simap.store.schema import ApiToken, User, utcnow

ROLES = ("viewer", "analyst", "admin")
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # longer ones only cost hashing time
# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
TOKEN_PREFIX = "simap_"


@dataclass(frozen=True)
class Account:
    """A logged-in person as the web layer sees it."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool = True
    created_at: datetime | None = None

    def can(self, role: str) -> bool:
        """True when this account's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    username: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def _hasher():  # type: ignore[no-untyped-def]
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:  # pragma: no cover - the web extra is installed in dev
        from simap.errors import BackendUnavailable

        raise BackendUnavailable(
            "accounts need argon2-cffi.", hint="install with: pip install 'simap[web]'"
        ) from exc
    from argon2 import Type

    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def needs_rehash(password_hash: str) -> bool:
    """True when ``password_hash`` was made with other parameters (or another argon2 variant)."""
    try:
        return bool(_hasher().check_needs_rehash(password_hash))
    except Exception:  # not an argon2 hash at all
        return True


def _account(user: User) -> Account:
    return Account(user.id, user.username, user.display_name, user.role, user.active, user.created_at)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(expected("role", f"one of {list(ROLES)}", role), field="role")
    return role


def check_username(username: str) -> str:
    if not USERNAME.match(username or ""):
        raise InvalidInput(
            expected(
                "username",
                "2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter",
                username,
            ),
            field="username",
            hint="e.g. 'ana' or 'j.smith'",
        )
    return username


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(
            f"a password must have at least {MIN_PASSWORD} characters; got {len(password or '')}.",
            field="password",
            hint="choose a longer password (a few words work well)",
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            f"a password must have at most {MAX_PASSWORD} characters; got {len(password)}.",
            field="password",
            hint="choose a shorter password",
        )
    return password


def add_user(
    store: Store, username: str, password: str, *, role: str, display_name: str = "", actor: str = "simap"
) -> Account:
    """Create a user; raises InvalidInput when the name is taken or the input is not valid."""
    check_username(username)
    check_password(password)
    check_role(role)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=utcnow(),
    )
    try:
        with store.session() as session, session.begin():
            session.add(user)
            session.flush()
            log_event(
                session,
                actor=actor,
                action="user_added",
                entity="user",
                entity_id=username,
                after={"role": role, "display_name": user.display_name},
            )
    except IntegrityError:
        raise InvalidInput(
            f"user {username!r} already exists.", field="username", hint="pick another name"
        ) from None
    return _account(user)


def _get(session, username: str) -> User:  # type: ignore[no-untyped-def]
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user {username!r} does not exist.", hint="list users with `simap users list`")
    return user


def get_user(store: Store, username: str) -> Account:
    with store.session() as session:
        return _account(_get(session, username))


def get_user_by_id(store: Store, user_id: int) -> Account | None:
    with store.session() as session:
        user = session.get(User, user_id)
        return _account(user) if user is not None and user.active else None


def list_users(store: Store) -> list[Account]:
    with store.session() as session:
        return [_account(u) for u in session.execute(select(User).order_by(User.username)).scalars()]


def set_role(store: Store, username: str, role: str, *, actor: str) -> Account:
    check_role(role)
    with store.session() as session, session.begin():
        user = _get(session, username)
        before = user.role
        if before == "admin" and role != "admin":
            _refuse_last_admin(session, user)
        user.role = role
        log_event(
            session,
            actor=actor,
            action="user_role_changed",
            entity="user",
            entity_id=username,
            before={"role": before},
            after={"role": role},
        )
        return _account(user)


def _refuse_last_admin(session, user: User) -> None:  # type: ignore[no-untyped-def]
    admins = session.execute(
        select(User.id).where(User.role == "admin", User.active.is_(True), User.id != user.id)
    ).all()
    if not admins:
        raise PermissionDenied(
            f"{user.username!r} is the last admin of this project.", hint="make another user admin first"
        )


def remove_user(store: Store, username: str, *, actor: str) -> None:
    """Deactivate a user and revoke their tokens. Their decisions and events stay (attributable)."""
    with store.session() as session, session.begin():
        user = _get(session, username)
        if user.role == "admin":
            _refuse_last_admin(session, user)
        user.active = False
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        log_event(
            session,
            actor=actor,
            action="user_removed",
            entity="user",
            entity_id=username,
            before={"role": user.role, "active": True},
            after={"active": False},
        )


def authenticate(store: Store, username: str, password: str) -> Account:
    """The account for a correct username and password; PermissionDenied otherwise (same message).

    A correct password whose stored hash has older parameters is re-hashed (``needs_rehash``).
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    denied = PermissionDenied("wrong username or password.", hint="check both, or ask an admin")
    if len(password or "") > MAX_PASSWORD:
        raise denied
    with store.session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            hash_password("timing-equaliser")
            raise denied
        try:
            _hasher().verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise denied from None
        account = _account(user)
        stale = needs_rehash(user.password_hash)
    if stale:
        with store.session() as session, session.begin():
            session.execute(
                update(User).where(User.id == account.id).values(password_hash=hash_password(password))
            )
    return account


def set_password(store: Store, username: str, password: str, *, actor: str) -> None:
    check_password(password)
    with store.session() as session, session.begin():
        user = _get(session, username)
        user.password_hash = hash_password(password)
        log_event(session, actor=actor, action="password_changed", entity="user", entity_id=username)


# -- API tokens ----------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, username: str, name: str, *, actor: str) -> tuple[str, TokenInfo]:
    """A new token for ``username``: returns (the token, shown only now; its stored info)."""
    if not (name or "").strip():
        raise InvalidInput(
            "a token needs a name; got an empty one.", field="name", hint="e.g. 'export script'"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as session, session.begin():
        user = _get(session, username)
        row = ApiToken(
            user_id=user.id,
            name=name.strip()[:200],
            prefix=token[: len(TOKEN_PREFIX) + 6],
            token_hash=_token_hash(token),
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        log_event(
            session,
            actor=actor,
            action="token_created",
            entity="user",
            entity_id=username,
            after={"token": row.prefix, "name": row.name},
        )
        info = TokenInfo(row.id, row.name, row.prefix, username, row.created_at, None, False)
    return token, info


def list_tokens(store: Store, username: str | None = None) -> list[TokenInfo]:
    q = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username is not None:
        q = q.where(User.username == username)
    with store.session() as session:
        return [
            TokenInfo(t.id, t.name, t.prefix, u, t.created_at, t.last_used_at, t.revoked_at is not None)
            for t, u in session.execute(q).all()
        ]


def revoke_token(store: Store, token_id: int, *, actor: Account) -> None:
    """Revoke a token; only its owner or an admin may."""
    # ids are INTEGER columns (32-bit on PostgreSQL): a larger id is no token, not an overflow
    if not 1 <= token_id < 2**31:
        raise NotFound(f"API token {token_id} does not exist.")
    with store.session() as session, session.begin():
        row = session.get(ApiToken, token_id)
        owner = session.get(User, row.user_id) if row is not None else None
        if row is None or owner is None:
            raise NotFound(f"API token {token_id} does not exist.")
        if owner.username != actor.username and not actor.can("admin"):
            raise PermissionDenied(
                f"only {owner.username!r} or an admin can revoke this token.", hint="ask an admin"
            )
        row.revoked_at = row.revoked_at or utcnow()
        log_event(
            session,
            actor=actor.username,
            action="token_revoked",
            entity="user",
            entity_id=owner.username,
            before={"token": row.prefix},
        )


def account_for_token(store: Store, token: str) -> Account | None:
    """The active account a token belongs to, or None (unknown, revoked, or user removed)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.session() as session, session.begin():
        row = session.execute(
            select(ApiToken).where(ApiToken.token_hash == _token_hash(token))
        ).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        now = utcnow()
        last = row.last_used_at
        if (
            last is None
            or (now - (last if last.tzinfo else last.replace(tzinfo=now.tzinfo))).total_seconds() > 60
        ):
            row.last_used_at = now
        return _account(user)
