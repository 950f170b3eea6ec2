"""Memo boxes that save when the member leaves them (issue 17, item 7).

A Streamlit text area sends its text when focus leaves it (a click anywhere else, another
document chosen, a page link) or on Ctrl+Enter; its ``on_change`` callback stores it then,
before the page is drawn again. So an edited memo is never left on screen looking saved
while the database keeps the old text. Emptying the box removes the memo. A save the engine
refuses (a coding removed meanwhile, a member removed) keeps the typed text and says "Not
saved" with the reason. A memo changed elsewhere (undo, another tab) replaces a box not being edited.

Session keys: the text area's own key, plus ``<key>__stored`` (the text the database held
when the box was drawn), ``<key>__error`` and ``<key>__saved``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app_pages.common import store
from app_pages.plain import md_escape
from coding.errors import CodingError
from coding.team.members import Member
from coding.team.projects import get_project
from coding.work.codings import set_memo
from coding.work.lookups import document_by_id
from coding.work.memos import save_document_memo

S = st.session_state
LEAVE_HINT = "Saved when you click outside the box (or press Ctrl+Enter, or Save memo)."


def _commit(key: str, save: Callable[[str], object], explicit: bool, flash_key: str | None) -> None:
    """Store the box's text (the text area's on_change, and the Save button's on_click).
    A refusal is kept for the box, and put in the page's message (``flash_key``) when the
    box may be gone on the next run (its coding removed meanwhile)."""
    text = S.get(key, "")
    stored = S.get(f"{key}__stored", "")
    if not explicit and (text == stored or (not text.strip() and not stored)):
        S.pop(f"{key}__error", None)  # back to what is stored, or nothing typed into an empty box
        return
    try:
        save(text)
    except CodingError as exc:
        S[f"{key}__error"] = str(exc)
        if flash_key and text.strip():
            shown = text if len(text) <= 200 else text[:199] + "…"
            S[flash_key] = ("error", f"Memo not saved: {exc}. What you typed: {shown}")
        return
    S[f"{key}__stored"] = text
    S.pop(f"{key}__error", None)
    S[f"{key}__saved"] = "Memo saved." if text.strip() else "Memo removed."


def memo_box(label: str, key: str, stored: str, save: Callable[[str], object], *, button_key: str,
             height: int = 80, help: str | None = None, flash_key: str | None = None) -> None:
    """A text area holding ``stored`` that calls ``save(text)`` when the member leaves it
    with a change, a Save button, and a line saying whether the text is saved."""
    base = f"{key}__stored"
    if key not in S or (S.get(base) != stored and S[key] == S.get(base)):
        S[key] = stored  # first drawn, or changed elsewhere while this box was not edited
    S[base] = stored
    st.text_area(label, key=key, height=height, help=help or LEAVE_HINT,
                 on_change=_commit, args=(key, save, False, flash_key))
    st.button("Save memo", key=button_key, on_click=_commit, args=(key, save, True, flash_key))
    if err := S.get(f"{key}__error"):
        if S.get(key, "") != stored:
            st.error(md_escape(f"Not saved: {err}. Your text is still in the box."), icon=":material/error:")
        else:
            st.error(md_escape(err))
            S.pop(f"{key}__error", None)
    elif said := S.pop(f"{key}__saved", None):
        st.success(said)


def coding_memo_box(project_name: str, member: Member, coding_id: str, memo: str) -> None:
    """The memo of one of the member's own codings (the coding page)."""
    def save(text: str) -> None:
        store().run(lambda s: set_memo(s, get_project(s, project_name), member, coding_id, text))

    memo_box("Memo", f"coding_memo_{coding_id}", memo, save, button_key=f"coding_save_memo_{coding_id}",
             flash_key="coding_flash")


def document_memo_box(project_name: str, member: Member, doc_id: str, own_text: str) -> None:
    """The member's own memo on a document (the Memos page)."""
    def save(text: str) -> None:
        def run(s):
            p = get_project(s, project_name)
            save_document_memo(s, p, member, document_by_id(s, p, member, doc_id), text)
        store().run(run)

    memo_box("My memo on this document", f"memos_doc_text_{doc_id}", own_text, save,
             button_key="memos_doc_save", height=220,
             help="Your own notes on this transcript; each member has their own memo. " + LEAVE_HINT)
