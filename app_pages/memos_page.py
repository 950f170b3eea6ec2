"""Memos: my memo per document, memos on codings, and the project journal.

Memo and transcript text are data: they reach the page through st.text and
st.dataframe only; engine messages (which quote names) through ``md_escape``. Every rule (the blind round, who may edit) lives in
coding/work/memos.py. Session keys are prefixed ``memos_``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from app_pages.common import require_member, store
from app_pages.memo_widgets import document_memo_box
from app_pages.plain import md_escape
from coding.work.documents import list_documents
from coding.errors import CodingError
from coding.work.memos import (
    add_journal_entry, author_names, coding_memos, document_memo, edit_journal_entry, journal,
    other_document_memos,
)
from coding.team.projects import get_project
from coding.work.lookups import document_by_id
from coding.work.rounds import blind_document_ids

ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx
st.title("Memos")


def when(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M} UTC" if dt else ""


def flash(kind: str, text: str) -> None:
    st.session_state["memos_flash"] = (kind, text)


def show_flash() -> None:
    msg = st.session_state.pop("memos_flash", None)
    if msg:
        (st.success if msg[0] == "success" else st.error)(msg[1])


def run(action) -> bool:
    """Run an engine action in one transaction (re-run on a clash with another writer);
    show its error and return False on failure."""
    try:
        store().run(lambda s: action(s, get_project(s, project_name)))
        return True
    except CodingError as exc:
        st.error(md_escape(str(exc)))
        return False


show_flash()

with store().session(write=False) as s:
    project = get_project(s, project_name)
    docs = {d.id: d.name for d in list_documents(s, project)}

tab_doc, tab_coding, tab_journal = st.tabs(["Document memos", "Coding memos", "Project journal"])

with tab_doc:
    if not docs:
        st.info("No documents yet: import transcripts on the Project page.")
    else:
        doc_id = st.selectbox("Document", list(docs), format_func=docs.get, key="memos_doc")
        with store().session(write=False) as s:
            project = get_project(s, project_name)
            doc = document_by_id(s, project, member, doc_id)
            own = document_memo(s, project, member, doc)
            own_text, own_when = (own.text, own.updated_at) if own else ("", None)
            others = [(name, m.text, m.updated_at) for name, m in other_document_memos(s, project, member, doc)]
            hidden = not member.is_lead and doc_id in blind_document_ids(s, project)
        # Saved when the member leaves the box (another document chosen, a click elsewhere).
        document_memo_box(project_name, member, doc_id, own_text)
        if own_when:
            st.caption(f"Last saved {when(own_when)}")
        if hidden:
            st.caption("Other members' memos on this document are hidden while it is in an open blind round.")
        elif others:
            st.subheader("Other members' memos")
            for name, body, updated in others:
                with st.container(border=True):
                    st.text(f"{name} · {when(updated)}")
                    st.text(body)

with tab_coding:
    options = ["", *docs]
    pick = st.selectbox("Document", options, format_func=lambda i: docs.get(i, "All documents"),
                        key="memos_coding_doc")
    try:
        with store().session(write=False) as s:
            project = get_project(s, project_name)
            rows = coding_memos(s, project, member, document_by_id(s, project, member, pick) if pick else None)
    except CodingError as exc:
        st.error(md_escape(str(exc)))
        rows = []
    if rows:
        # The memo first and widest: it is what this tab is for (it used to sit off-screen on the right).
        table = pd.DataFrame(rows)[["memo", "code", "coder", "document", "quote"]]
        st.dataframe(table, hide_index=True, width="stretch", key="memos_coding_table", column_config={
            "memo": st.column_config.TextColumn("memo", width="large"),
            "code": st.column_config.TextColumn("code", width="medium"),
            "coder": st.column_config.TextColumn("coder", width="small"),
            "document": st.column_config.TextColumn("document", width="medium"),
            "quote": st.column_config.TextColumn("quote", width="large"),
        })
        st.caption(f"{len(rows)} coding memo(s). Write them on the Code transcripts page.")
    else:
        st.info("No memos on codings you can see yet: add one to a coding on the Code transcripts page.")

with tab_journal:
    n = st.session_state.setdefault("memos_journal_n", 0)
    with st.form(f"memos_journal_add_{n}"):
        st.markdown("**New journal entry**")
        title = st.text_input("Title", key=f"memos_journal_title_{n}")
        body = st.text_area("Entry", height=160, key=f"memos_journal_text_{n}",
                            help="Decisions, emerging themes, codebook changes: the project's audit trail.")
        if st.form_submit_button("Add entry"):
            if run(lambda s, p: add_journal_entry(s, p, member, title, body)):
                st.session_state["memos_journal_n"] = n + 1  # fresh, empty form
                flash("success", "Journal entry added.")
                st.rerun()
    with store().session(write=False) as s:
        project = get_project(s, project_name)
        names = author_names(s, project)
        entries = [(m.id, m.title, m.text, m.author_id, m.created_at, m.updated_at)
                   for m in journal(s, project, member)]
    if not entries:
        st.info("The journal is empty: add the first entry above.")
    for memo_id, e_title, e_text, author_id, created, updated in entries:
        with st.container(border=True):
            st.text(e_title)
            edited = f" · edited {when(updated)}" if updated and created and updated > created else ""
            st.text(f"{names.get(author_id, '(former member)')} · {when(created)}{edited}")
            st.text(e_text)
            if author_id == member.id or member.is_lead:
                with st.expander("Edit"):
                    with st.form(f"memos_edit_{memo_id}"):
                        new_title = st.text_input("Title", value=e_title, key=f"memos_edit_title_{memo_id}")
                        new_text = st.text_area("Entry", value=e_text, height=160, key=f"memos_edit_text_{memo_id}")
                        if st.form_submit_button("Save changes"):
                            if run(lambda s, p, i=memo_id, t=new_title, x=new_text:
                                   edit_journal_entry(s, p, member, i, t, x)):
                                flash("success", "Journal entry saved.")
                                st.rerun()
