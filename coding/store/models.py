"""SQLAlchemy 2 models: the project's whole schema.

Every project object carries a UUID primary key (DESIGN.md, Identity) so that
REFI-QDA export and import round-trip. Offsets are code points of the stored text.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return str(uuid.uuid4())


def new_ids(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as :func:`new_id` gives them, from one read of the
    system's random source: an import gives one to each of thousands of speaker turns."""
    h = os.urandom(16 * n).hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{'89ab'[int(h[i + 16], 16) & 3]}"
            f"{h[i + 17:i + 20]}-{h[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]


def utcnow() -> datetime:
    return datetime.now(UTC)


UUID = String(36)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    codebook_title: Mapped[str] = mapped_column(String(300), default="")
    codebook_description: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every codebook change; agreement snapshots record it.
    codebook_version: Mapped[int] = mapped_column(Integer, default=1)
    # Local mode: members sign in by picking a name, no password (lone researcher).
    local_mode: Mapped[bool] = mapped_column(Boolean, default=True)
    # How exports attribute an excerpt: {document}, {speaker}, {turn} and participant attributes
    # in braces (migration 0005; the default since 0010 works without attributes).
    attribution_template: Mapped[str] = mapped_column(
        String(300), default="({speaker}, {document})", server_default="({speaker}, {document})")
    # Set on the hidden project that holds an import's rows until they are made visible
    # in one short transaction (coding.work.staged_import, migration 0009); NULL for real projects.
    staging_for: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE", name="fk_projects_staging_for_projects"),
        nullable=True, index=True)


class Coder(Base):
    __tablename__ = "coders"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint("role IN ('lead', 'coder')", name="coder_role"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(10), default="coder")
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16), default="en")
    source_filename: Mapped[str] = mapped_column(String(500), default="")
    source_format: Mapped[str] = mapped_column(String(10), default="txt")
    source_encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when sentence units were segmented and stored (name of the pipeline).
    sentence_model: Mapped[str | None] = mapped_column(String(80), nullable=True)

    turns: Mapped[list[SpeakerTurn]] = relationship(
        order_by="SpeakerTurn.position", cascade="all, delete-orphan", passive_deletes=True
    )
    attributes: Mapped[list[Attribute]] = relationship(
        order_by="Attribute.name", cascade="all, delete-orphan", passive_deletes=True
    )


class SpeakerTurn(Base):
    __tablename__ = "speaker_turns"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(120))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    speech_start: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Sentence(Base):
    """Sentence units, segmented once per document with spaCy and stored."""

    __tablename__ = "sentences"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)


class Attribute(Base):
    """A participant attribute of a document (role, school, group, any CSV column)."""

    __tablename__ = "attributes"
    __table_args__ = (UniqueConstraint("document_id", "name"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(Text, default="")


class Code(Base):
    """A codebook node. The tree is ``parent_id``; paths are computed, never prefix-matched."""

    __tablename__ = "codes"
    __table_args__ = (CheckConstraint("status IN ('active', 'proposed')", name="code_status"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # Indexed (migration 0009): deleting a code looks up its children by it.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("codes.id", ondelete="CASCADE"), nullable=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    inclusion: Mapped[str] = mapped_column(Text, default="")
    exclusion: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str] = mapped_column(String(7), default="#888888")
    codable: Mapped[bool] = mapped_column(Boolean, default=True)
    # 'proposed': suggested by a coder, awaiting a lead's decision (migration 0002).
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    proposed_by: Mapped[str | None] = mapped_column(
        ForeignKey("coders.id", ondelete="SET NULL", name="fk_codes_proposed_by_coders"), nullable=True
    )


class Round(Base):
    """A coding round: the lead assigns documents; while blind, coders see only their own work."""

    __tablename__ = "rounds"
    __table_args__ = (CheckConstraint("status IN ('open', 'revealed')", name="round_status"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    codebook_version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("round_id", "document_id", "coder_id"),
        CheckConstraint("status IN ('not started', 'in progress', 'done')", name="assignment_status"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    coder_id: Mapped[str] = mapped_column(ForeignKey("coders.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="not started")


class Coding(Base):
    """One coder's application of one code to one span of one document.

    ``layer`` is ``coder`` for a coder's own work and ``consensus`` for the
    adjudicated version (its ``coder_id`` is the lead who decided).

    The same coding cannot be stored twice (``uq_codings_identity``), and a code
    with codings cannot be deleted (``code_id`` is ON DELETE RESTRICT): codings
    leave a code only by an explicit, logged move or delete (migration 0002).
    """

    __tablename__ = "codings"
    __table_args__ = (
        CheckConstraint('start >= 0 AND "end" > start', name="coding_span"),
        CheckConstraint("layer IN ('coder', 'consensus')", name="coding_layer"),
        CheckConstraint(
            "provenance IN ('typed', 'suggested', 'adjudicated', 'imported')",
            name="coding_provenance",
        ),
        Index("ix_codings_doc_coder", "document_id", "coder_id"),
        Index("ix_codings_code", "code_id"),
        Index("ix_codings_coder_created", "coder_id", "created_at"),  # recent codes (migration 0011)
        UniqueConstraint("document_id", "coder_id", "layer", "start", "end", "code_id",
                         name="uq_codings_identity"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    code_id: Mapped[str] = mapped_column(
        ForeignKey("codes.id", ondelete="RESTRICT", name="fk_codings_code_id_codes")
    )
    coder_id: Mapped[str] = mapped_column(ForeignKey("coders.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    provenance: Mapped[str] = mapped_column(String(12), default="typed")
    layer: Mapped[str] = mapped_column(String(10), default="coder")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Memo(Base):
    """A document memo or an entry of the project journal (``document_id`` NULL)."""

    __tablename__ = "memos"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True
    )
    author_id: Mapped[str | None] = mapped_column(
        ForeignKey("coders.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Event(Base):
    """Append-only audit log: who did what, when. ``undone_by`` marks undone events."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(UUID, unique=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(120))  # the name, for display
    # The acting member (migration 0004); NULL for the system.
    actor_id: Mapped[str | None] = mapped_column(
        ForeignKey("coders.id", ondelete="SET NULL", name="fk_events_actor_id_coders"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_by: Mapped[str | None] = mapped_column(String(36), nullable=True)

    # Undo/redo read a member's latest events, newest first (migration 0011).
    __table_args__ = (Index("ix_events_actor_seq", "actor_id", "seq"),)


class AgreementSnapshot(Base):
    """A saved agreement computation, with the codebook version it was made under."""

    __tablename__ = "agreement_snapshots"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    round_id: Mapped[str | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="SET NULL"), nullable=True
    )
    label: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(12))
    coders: Mapped[str] = mapped_column(Text)  # JSON list of names
    codebook_version: Mapped[int] = mapped_column(Integer)
    results: Mapped[str] = mapped_column(Text)  # JSON rows
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Adjudication(Base):
    """The lead's decision on one disagreement: which version became consensus, and why."""

    __tablename__ = "adjudications"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    code_id: Mapped[str] = mapped_column(ForeignKey("codes.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10))  # a, b, both, neither, edit
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Accounts and sessions (migration 0003) ----------------------------------
# Sign-in state lives beside ``Coder``, not in it: it changes on every sign-in and
# is never part of a project's export.


class MemberAccount(Base):
    """Sign-in state of one member (1:1 with ``coders``; no row means the defaults)."""

    __tablename__ = "member_accounts"
    coder_id: Mapped[str] = mapped_column(ForeignKey("coders.id", ondelete="CASCADE"), primary_key=True)
    # A temporary password (set by a lead): the member must choose a new one first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A removed member keeps their codings and history but can no longer sign in.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignInAttempt(Base):
    """One sign-in try. Rate limiting and lock-out read these rows, so they hold across
    app instances. ``coder_id`` is NULL for a name that is not a member."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'fail', 'reset')", name="sign_in_outcome"),
        Index("ix_sign_in_attempts_coder_at", "coder_id", "at"),
        Index("ix_sign_in_attempts_source_at", "source", "at"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    coder_id: Mapped[str | None] = mapped_column(ForeignKey("coders.id", ondelete="CASCADE"), nullable=True)
    source: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(5))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionToken(Base):
    """A signed-in browser or CLI session. Only SHA-256 hashes of its secrets are stored:
    ``grant_hash`` for the one-time grant a browser trades for its cookie, ``token_hash``
    for the token the cookie (or ``--token``) carries."""

    __tablename__ = "session_tokens"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    coder_id: Mapped[str] = mapped_column(ForeignKey("coders.id", ondelete="CASCADE"), index=True)
    client: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    grant_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    grant_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(36), nullable=True)  # coder id


class NlpCache(Base):
    """spaCy analysis of one text by one pipeline (JSON; see coding.nlp.analysis), migration 0006."""

    __tablename__ = "nlp_cache"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Sets (migration 0007) -----------------------------------------------------


class Set(Base):
    """A named group of documents and/or codes (REFI-QDA ``Set``); an imported set keeps
    the file's GUID as its id."""

    __tablename__ = "sets"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")


class SetMember(Base):
    """One document or one code of a set (exactly one of the two)."""

    __tablename__ = "set_members"
    __table_args__ = (
        CheckConstraint("(document_id IS NULL) <> (code_id IS NULL)", name="set_member_one"),
        UniqueConstraint("set_id", "document_id", name="uq_set_members_document"),
        UniqueConstraint("set_id", "code_id", name="uq_set_members_code"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    set_id: Mapped[str] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True
    )
    code_id: Mapped[str | None] = mapped_column(ForeignKey("codes.id", ondelete="CASCADE"), nullable=True)


# --- Imports being stored (migration 0009) ---------------------------------------


class StagedImport(Base):
    """An import whose rows are being written, in short transactions, into a hidden project
    (``id``; its ``staging_for`` is ``project_id``) until one short transaction moves them
    into the project. ``seen_at`` is renewed by every transaction: one left for long was
    interrupted, and the next import removes what it staged."""

    __tablename__ = "staged_imports"
    id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("coders.id", ondelete="SET NULL"), nullable=True)
    label: Mapped[str] = mapped_column(String(300), default="")
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
