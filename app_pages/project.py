"""Project page: open or build a project, its documents with attributes, the codebook tree.

Names (documents, codes, members, rounds, files) are data: they reach the page
through st.dataframe and st.text, or through ``md_escape`` where Streamlit
renders Markdown. Counts come from coding.work.counts (the blind rule). Actions
end in a rerun with a message kept in ``project_flash``, so every table and
label shows the state after the action. Session keys are prefixed ``project_``.
Nothing of a project (documents, codebook, rounds) is shown before sign-in.
"""

from __future__ import annotations

import zlib

import streamlit as st

from app_pages.common import (
    begin_session, current_session_id, open_tab_session, project_picker, server_is_loopback, sign_in_box, store,
)
from app_pages.plain import md_escape
from coding.errors import CodingError
from coding.team.projects import add_member, create_project, create_project_as, get_project
from coding.team.members import Member, get_member, members

st.title("Project")


def report(exc: CodingError) -> None:
    st.error(md_escape(str(exc)), icon=":material/error:")


def flash(*messages: tuple[str, str]) -> None:
    """Messages (kind, plain text) to show after the rerun that follows an action."""
    st.session_state["project_flash"] = list(messages)


def create_form(project_name: str | None, creator: Member | None) -> None:
    """The form that creates a project and signs its creator in as its lead. On an empty
    server anyone may use it (``creator`` None); once projects exist, a signed-in lead
    (``creator``, a lead of ``project_name``). Local single-user mode only for a request
    made on this computer (app_pages/common.py decides that from the connection)."""
    loopback = server_is_loopback()
    with st.form("project_new", clear_on_submit=False):
        new_name = st.text_input("Or create an empty project" if creator is None else "Project name",
                                 key="project_new_name")
        lead = st.text_input("Your name (you become its lead)", key="project_new_lead",
                             value="" if creator is None else creator.name)
        lead_pw = st.text_input("Your password", type="password", key="project_new_pw",
                                help="Members sign in with passwords unless you choose local mode below."
                                     + ("" if creator is None else " It is the password of your account in the "
                                                                   "new project."))
        lead_pw2 = st.text_input("Your password again", type="password", key="project_new_pw2")
        local = st.checkbox("Local single-user mode: no passwords, only on this computer", value=False,
                            key="project_new_local", disabled=not loopback,
                            help=None if loopback else "This connection does not come from the computer the "
                                                       "app runs on: a project made here needs passwords.")
        submitted = st.form_submit_button("Create project", key="project_new_submit")
    if not submitted:
        return
    if lead_pw != lead_pw2:
        st.error("The two passwords differ: type the same password twice.")
    elif local and not server_is_loopback():
        st.error("Local single-user mode (no passwords) is refused here: this request does not come from the "
                 "computer the app runs on. Give yourself a password instead.")
    else:
        try:
            def create(s):
                if creator is None:
                    p = create_project(s, new_name, lead_name=lead, lead_password=lead_pw or None,
                                       local_mode=local)
                else:
                    p = create_project_as(s, get_project(s, project_name), creator, new_name,
                                          password=lead_pw or None, lead_name=lead, local_mode=local)
                # The creator just chose the lead's password (or local mode): sign them in.
                return open_tab_session(s, Member.of(next(c for c in members(s, p) if c.role == "lead")))
            begin_session(store().run(create))
            flash(("success", f"Created {new_name.strip()}: you are its lead. Import transcripts below, then "
                              "the codebook and participant attributes on the Codebook page."))
            st.rerun()
        except CodingError as exc:
            report(exc)


for kind, text in st.session_state.pop("project_flash", []):
    getattr(st, kind)(md_escape(text))

name = project_picker()
if name is None:
    st.markdown(
        "No project yet. The **demo study** holds eight interview transcripts from a collaborative "
        "inquiry project (two in Spanish), the CIC codebook and a double-coded sample by two coders."
    )
    if st.button("Build the demo study", type="primary", key="project_build_demo"):
        from coding.demo import build_demo, process_demo_in_background

        store().run(build_demo)
        process_demo_in_background(store())  # parsed for suggestions meanwhile (Suggestions page: progress)
        st.session_state["project"] = "demo"
        st.rerun()
    create_form(None, None)
    st.stop()

member = sign_in_box(name)
if member is None:
    # Nothing of a project (not even its document names) before sign-in: the sidebar lists
    # the projects' names and asks who you are.
    st.info("Choose your own password in the sidebar to continue." if current_session_id() else
            "Sign in from the sidebar to see this project's documents, codebook and rounds.")
    st.stop()

# What only a signed-in member's page uses is imported here, not for the sign-in page
# every cold start first shows: pandas for the tables (0.35 s of CPU), the documents,
# codebook and rounds modules (0.09 s). tests/pages/test_first_page_imports.py
import pandas as pd

from coding.codebook.tree import visible_code_tree
from coding.work.counts import visible_coding_counts
from coding.work.documents import document_summary, get_document, import_uploads_committing, list_documents
from coding.work.rounds import assign, list_rounds, open_round, progress, reveal, round_by_id

with store().session(write=False) as s:
    project = get_project(s, name)
    docs = [document_summary(d) for d in list_documents(s, project)]
    tree = visible_code_tree(s, project, member)  # another coder's proposals left out
    # Counts are a view of codings, under the blind rule.
    counts = visible_coding_counts(s, project, member)
    people = [(c.name, c.role) for c in members(s, project)]
    title = project.codebook_title

c1, c2, c3, c4 = st.columns(4)
c1.metric("Documents", len(docs))
c2.metric("Words", f"{sum(d['words'] for d in docs):,}")
c3.metric("Codes", sum(1 for i in tree.infos if i.codable))
c4.metric("Codings", f"{sum(counts.values()):,}",
          help="Codings you can see: while a blind round is open, a coder counts only their own.")

st.subheader("Documents")
if docs:
    attr_names = sorted({k for d in docs for k in d["attributes"]})
    table = pd.DataFrame([
        {"document": d["name"], **{a: d["attributes"].get(a, "") for a in attr_names},
         "language": d["language"], "words": d["words"], "characters": d["characters"],
         "speakers": ", ".join(f"{sp['speaker']} ({sp['turns']})" for sp in d["speakers"]),
         "format": d["source"]["format"], "encoding": d["source"]["encoding"]}
        for d in docs
    ])
    st.dataframe(table, hide_index=True, width="stretch", key="project_docs")
else:
    st.info("No documents yet: import transcripts below.")

st.subheader("Codebook" + (f": {md_escape(title)}" if title else ""))
if tree.infos:
    # A table, not Markdown: names stay literal and the indentation (em spaces) shows the depth.
    rows = [{"code": "\u2003" * (2 * i.depth) + i.name, "kind": "codable" if i.codable else "folder",
             "codings": counts.get(i.id, 0),
             "definition": i.definition, "path": i.path}
            for i in tree.infos]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="project_codebook",
                 height=min(38 + 35 * len(rows), 600),
                 column_config={"code": st.column_config.TextColumn("code", width="large"),
                                "definition": st.column_config.TextColumn("definition", width="large")})
else:
    st.info("The codebook is empty: a lead builds it or imports a YAML codebook on the Codebook page.")

if member is not None and member.is_lead:
    st.subheader("Import transcripts")
    with st.form("project_import", clear_on_submit=True):
        files = st.file_uploader("Transcripts (.txt .md .docx .vtt .srt)", accept_multiple_files=True,
                                 type=["txt", "md", "docx", "vtt", "srt"], key="project_files")
        language = st.text_input("Language (ISO code)", value="en", key="project_lang")
        pattern = st.text_input("Speaker pattern (optional regex with (?P<speaker>...))", key="project_pattern")
        if st.form_submit_button("Import"):
            try:
                # Each file commits on its own: a failure later in the batch keeps the earlier ones.
                rep = import_uploads_committing(store(), name, [(f.name, f.getvalue()) for f in files or []],
                                                language=language, speaker_pattern=pattern or None,
                                                actor=member)
                started = []
                if rep.imported:  # parse the new documents for suggestions in the background
                    from coding.suggest.processing import start_background

                    start_background(store(), name, member)
                    started = [("info", "Processing the documents for suggestions in the background "
                                        "(progress on the Suggestions page).")]
                flash(*[("success", f"Imported {doc} ({rep.encodings[doc]})") for doc in rep.imported],
                      *[("warning", msg) for msg in rep.warnings],
                      *[("error", msg) for msg in rep.failed], *started)
                st.rerun()
            except CodingError as exc:
                report(exc)
    st.subheader("Members")
    st.dataframe(pd.DataFrame(people, columns=["name", "role"]), hide_index=True, key="project_members")
    with st.form("project_add_member", clear_on_submit=True):
        n = st.text_input("Name", key="project_member_name")
        r = st.selectbox("Role", ["coder", "lead"], key="project_member_role")
        pw = st.text_input("Password (optional in local mode)", type="password", key="project_member_pw")
        if st.form_submit_button("Add member"):
            try:
                store().run(lambda s: add_member(s, get_project(s, name), n, r, password=pw or None,
                                                 actor=member))
                flash(("success", f"Added {n.strip()} as {r}."))
                st.rerun()
            except CodingError as exc:
                report(exc)

if member is not None:
    st.subheader("Rounds and progress")
    with store().session(write=False) as s:
        project = get_project(s, name)
        rounds = [(r.id, r.name, r.blind, r.status) for r in list_rounds(s, project)]
        prog = progress(s, project, member)  # the blind rule: a coder sees only their own rows
        # coders first, then leads (a lead who codes may take documents too); removed members not
        active = sorted(members(s, project, active_only=True), key=lambda c: (c.role != "coder", c.name))
        coder_names = [c.name for c in active]
        default_coders = [c.name for c in active if c.role == "coder"][:2]
    if prog:
        st.dataframe(pd.DataFrame(prog).pivot_table(index=["round", "document"], columns="coder", values="status",
                                                     aggfunc="first").reset_index(),
                     hide_index=True, width="stretch", key="project_progress")
    else:
        st.caption("No round yet. A lead opens a round, assigns documents to coders, and reveals it when "
                   "coding is done; while a blind round is open each coder sees only their own codings.")
    if member.is_lead:
        with st.form("project_round_open", clear_on_submit=True):
            st.markdown("**Open a round**")
            rname = st.text_input("Round name", key="project_round_name", placeholder="Round 2")
            blind = st.checkbox("Blind: coders see only their own codings until revealed", value=True,
                                key="project_round_blind")
            if st.form_submit_button("Open round"):
                try:
                    store().run(lambda s: open_round(s, get_project(s, name), member, rname, blind=blind))
                    flash(("success", f"Opened {rname.strip() or rname}."))
                    st.rerun()
                except CodingError as exc:
                    report(exc)
        open_rounds = [r for r in rounds if r[3] == "open"]
        if open_rounds:
            with st.form("project_round_assign"):
                st.markdown("**Assign documents**")
                rid = st.selectbox("Round", [r[0] for r in open_rounds], key="project_assign_round",
                                   format_func=lambda i: next(r[1] for r in open_rounds if r[0] == i))
                dsel = st.multiselect("Documents", [d["name"] for d in docs], key="project_assign_docs")
                # The key follows the member list: a widget keeps its value under its key, so with a
                # fixed key a coder added since would not be offered with the default choice.
                csel = st.multiselect("Coders", coder_names, default=default_coders,
                                      key=f"project_assign_coders_{zlib.crc32(chr(10).join(coder_names).encode()):x}")
                c1, c2 = st.columns(2)
                do_assign = c1.form_submit_button("Assign")
                do_reveal = c2.form_submit_button("Reveal this round")
            if do_assign and not (dsel and csel):
                st.error("Choose at least one document and one coder to assign: nothing was assigned.")
            elif do_assign or do_reveal:
                def act(s) -> str:
                    p = get_project(s, name)
                    rnd = round_by_id(s, p, member, rid)
                    if do_assign:
                        n = assign(s, p, member, rnd, [get_document(s, p, d) for d in dsel],
                                   [get_member(s, p, c) for c in csel])
                        if n == 0:
                            return ("warning", f"Nothing added: {', '.join(dsel)} already assigned to "
                                               f"{', '.join(csel)} in {rnd.name}.")
                        return "success", f"{n} assignment{'' if n == 1 else 's'} added in {rnd.name}."
                    reveal(s, p, member, rnd)
                    return "success", f"{rnd.name} revealed: coders now see each other's codings."
                try:
                    message = store().run(act)
                except CodingError as exc:
                    report(exc)
                else:
                    flash(message)
                    st.rerun()

if member.is_lead:
    with st.expander("Create another project"):
        st.caption("A new project for another study, on this server: you become its lead with an account of "
                   "its own, and this tab switches to it. Add its members on its Project page.")
        create_form(name, member)
