"""Memos: each member's memo per document, the project journal, and coding memos.

Privacy follows the blind rule of :mod:`coding.team.visibility`: while a document is
in an open blind round, a coder sees only their own document memo and only the
memos of their own codings; a lead sees everyone's. The journal (memos with no
document) is readable by every member; an entry is edited by its author or a lead.
Every function reloads the member and checks the project (:mod:`coding.team.access`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.team.access import Action, can, require
from coding.codebook.tree import code_tree
from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.team.events import log_event
from coding.team.members import Member
from coding.store.models import Coder, Coding, Document, Memo, Project, utcnow
from coding.team.visibility import visibility

MAX_TITLE = 300
QUOTE_CHARS = 300


def _check_member(s: Session, project: Project, member: Member, action: Action,
                  document: Document | None = None) -> Member:
    """The member reloaded, allowed ``action`` on ``project`` (and ``document``)."""
    return require(s, member, action, project, document)


def _check_text(text: str, what: str) -> str:
    if not (text or "").strip():
        raise CodingError(f"the {what} is empty: write something before saving")
    return text


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise CodingError("the journal entry has no title: give it a short title")
    if len(title) > MAX_TITLE:
        raise CodingError(f"the title is {len(title)} characters, over the {MAX_TITLE} limit: shorten it")
    return title


def document_memo(s: Session, project: Project, member: Member, document: Document) -> Memo | None:
    """The member's own memo on ``document``, or None."""
    member = _check_member(s, project, member, Action.READ_MEMOS, document)
    return s.scalar(
        select(Memo).where(Memo.document_id == document.id, Memo.author_id == member.id)
        .order_by(Memo.created_at).limit(1)
    )


def other_document_memos(s: Session, project: Project, member: Member,
                         document: Document) -> list[tuple[str, Memo]]:
    """Other members' memos on ``document`` as (author name, memo), the blind rule applied:
    none for a coder while the document is in an open blind round."""
    member = _check_member(s, project, member, Action.READ_MEMOS, document)
    rows = s.execute(
        select(Coder.name, Memo).join(Coder, Coder.id == Memo.author_id)
        .where(Memo.document_id == document.id, Memo.author_id != member.id, visibility(s, member).memos())
        .order_by(Coder.name)
    )
    return [(name, memo) for name, memo in rows]


def save_document_memo(s: Session, project: Project, member: Member, document: Document,
                       text: str) -> Memo | None:
    """Create or update the member's own memo on ``document``. Emptying a memo the member
    has removes it (logged with its text; None returned); an empty new memo is refused."""
    member = _check_member(s, project, member, Action.WRITE_MEMOS, document)
    memo = document_memo(s, project, member, document)
    if memo is not None and not (text or "").strip():
        log_event(s, project.id, member, "memo.document", "memo", memo.id,
                  document=document.id, before=memo.text, after="")
        s.delete(memo)
        s.flush()
        return None
    _check_text(text, f"memo on {document.name!r}")
    before = memo.text if memo is not None else None
    if memo is None:
        memo = Memo(project_id=project.id, document_id=document.id, author_id=member.id, text=text)
        s.add(memo)
    elif memo.text == text:
        return memo
    else:
        memo.text = text
        memo.updated_at = utcnow()
    s.flush()
    log_event(s, project.id, member, "memo.document", "memo", memo.id,
              document=document.id, before=before, after=text)
    return memo


def journal(s: Session, project: Project, member: Member) -> list[Memo]:
    """The project journal, newest entry first (every member may read it)."""
    _check_member(s, project, member, Action.READ_MEMOS)
    return list(s.scalars(
        select(Memo).where(Memo.project_id == project.id, Memo.document_id.is_(None))
        .order_by(Memo.created_at.desc(), Memo.id)
    ))


def add_journal_entry(s: Session, project: Project, member: Member, title: str, text: str) -> Memo:
    member = _check_member(s, project, member, Action.WRITE_MEMOS)
    title = _check_title(title)
    _check_text(text, "journal entry")
    memo = Memo(project_id=project.id, document_id=None, author_id=member.id, title=title, text=text)
    s.add(memo)
    s.flush()
    log_event(s, project.id, member, "memo.journal.add", "memo", memo.id, title=title, text=text)
    return memo


def edit_journal_entry(s: Session, project: Project, member: Member, memo_id: str, title: str,
                       text: str) -> Memo:
    """Change a journal entry; only its author or a lead may."""
    member = _check_member(s, project, member, Action.WRITE_MEMOS)
    memo = s.get(Memo, memo_id)
    if memo is None or memo.project_id != project.id or memo.document_id is not None:
        raise NotFoundError(f"no journal entry {memo_id!r} in {project.name!r}; it may have been removed: reload the page")
    if memo.author_id != member.id and not can(member, Action.EDIT_OTHERS_JOURNAL):
        raise PermissionDeniedError(f"{member.name!r} cannot edit another member's journal entry; ask its author or a lead")
    title = _check_title(title)
    _check_text(text, "journal entry")
    if (memo.title, memo.text) == (title, text):
        return memo
    log_event(s, project.id, member, "memo.journal.edit", "memo", memo.id,
              before={"title": memo.title, "text": memo.text}, after={"title": title, "text": text})
    memo.title, memo.text, memo.updated_at = title, text, utcnow()
    s.flush()
    return memo


def author_names(s: Session, project: Project) -> dict[str, str]:
    """Member id -> name, to show who wrote a memo."""
    return dict(s.execute(select(Coder.id, Coder.name).where(Coder.project_id == project.id)).all())


def coding_memos(s: Session, project: Project, member: Member,
                 document: Document | None = None) -> list[dict]:
    """Memos written on codings the member may see (the blind rule applied), in
    document and text order: document, code path, coder, quote (the coded text,
    at most 300 characters), memo, layer, start, end, coding id."""
    member = _check_member(s, project, member, Action.READ_MEMOS, document)
    q = select(Coding).where(visibility(s, member).codings(), Coding.memo != "")
    if document is not None:
        q = q.where(Coding.document_id == document.id)
    codings = list(s.scalars(q))
    if not codings:
        return []
    doc_ids = {c.document_id for c in codings}
    docs = {d.id: (d.name, d.text) for d in s.execute(
        select(Document.id, Document.name, Document.text).where(Document.id.in_(doc_ids)))}
    tree = code_tree(s, project)
    names = author_names(s, project)
    rows = []
    for c in codings:
        name, text = docs[c.document_id]
        quote = text[c.start:c.end]
        if len(quote) > QUOTE_CHARS:
            quote = quote[:QUOTE_CHARS - 1] + "…"
        info = tree.info.get(c.code_id)
        rows.append({
            "document": name,
            "code": info.path if info else "?",
            "coder": names.get(c.coder_id, "?"),
            "quote": quote,
            "memo": c.memo,
            "layer": c.layer,
            "start": c.start,
            "end": c.end,
            "coding_id": c.id,
        })
    rows.sort(key=lambda r: (r["document"], r["start"], r["end"], r["coder"], r["code"], r["coding_id"]))
    return rows
