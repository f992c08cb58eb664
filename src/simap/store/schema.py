"""Database schema (SQLAlchemy 2 ORM). Changes here need an Alembic migration in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Venture(Base):
    __tablename__ = "ventures"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(200), index=True)
    sector: Mapped[str | None] = mapped_column(String(200), index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("venture_id", "field", name="uq_document_field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    venture_id: Mapped[str] = mapped_column(ForeignKey("ventures.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(40))


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_venture", "venture_id", "field", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    venture_id: Mapped[str] = mapped_column(ForeignKey("ventures.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class CodebookVersion(Base):
    __tablename__ = "codebooks"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    codebook_version: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(300))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Assignment(Base):
    """A code on a venture: a machine suggestion or a human decision."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("venture_id", "code_id", "coder", name="uq_assignment"),
        Index("ix_assignments_code", "code_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no index of its own: uq_assignment starts with venture_id (migration 0004)
    venture_id: Mapped[str] = mapped_column(ForeignKey("ventures.id", ondelete="CASCADE"))
    code_id: Mapped[str] = mapped_column(String(64))
    codebook_version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # machine | human
    coder: Mapped[str] = mapped_column(String(300))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    score: Mapped[float | None] = mapped_column(Float)
    raw: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))  # suggested | accepted | rejected | abstained
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    memo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmbeddingRow(Base):
    __tablename__ = "embeddings"

    model_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(40), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Event(Base):
    """Append-only log of every change (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(100), index=True)
    entity: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str | None] = mapped_column(String(300), index=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# -- web workbench (migration 0002): accounts, roles, API tokens, blind coding, gold sets ------
class User(Base):
    """A person who logs in to the workbench. A project is one database, so the role is per project."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # admin | analyst | viewer
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CodingSet(Base):
    """A set of ventures assigned to coders; when ``blind``, they cannot see each other's codes."""

    __tablename__ = "coding_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    coders: Mapped[list[Any]] = mapped_column(JSON, default=list)
    blind: Mapped[bool] = mapped_column(default=True)
    hide_machine: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodingSetItem(Base):
    __tablename__ = "coding_set_items"

    set_id: Mapped[int] = mapped_column(ForeignKey("coding_sets.id", ondelete="CASCADE"), primary_key=True)
    venture_id: Mapped[str] = mapped_column(
        ForeignKey("ventures.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GoldLabel(Base):
    """Reference labels (a gold set) to measure coders against."""

    __tablename__ = "gold_labels"

    gold_set: Mapped[str] = mapped_column(String(200), primary_key=True)
    venture_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    codes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ProjectSetting(Base):
    """Project-wide settings, e.g. the working codebook version the workbench shows."""

    __tablename__ = "project_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)


# attached to the assignments table by migration 0002 (the venture list filters by coder and score)
Index("ix_assignments_coder", Assignment.coder, Assignment.venture_id)
Index("ix_assignments_code_score", Assignment.code_id, Assignment.score, Assignment.venture_id)

# migration 0003: the venture list's order (a page is an index range) and its status filter; the
# full-text search tables/indexes of that migration (FTS5 on SQLite, tsvector on PostgreSQL) are
# dialect-specific DDL and not part of this metadata
Index("ix_ventures_name", Venture.name, Venture.id)
Index("ix_assignments_status", Assignment.status, Assignment.venture_id)
