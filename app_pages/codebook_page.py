"""Codebook page: the code tree with counts; leads edit it, coders read it.

Every change goes through coding.codebook.edits and .restructure (lead-only, logged,
versioned). A lead imports a YAML codebook here, anyone who may import documents the
participant attributes (CSV): each file is previewed first (nothing stored), then stored
all or nothing.
Actions run as widget callbacks, so the arguments they get (the selected code,
the coding count shown in a delete confirmation) are the ones on screen when
the user clicked. Session keys are prefixed ``codebook_``.

Code names, paths and messages that quote them pass through ``md_escape``
wherever Streamlit renders Markdown (labels, radio options, alerts, captions);
counts come from coding.work.counts, so a coder in an open blind round counts only
their own codings (the table and its CSV download included).
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from app_pages.common import require_member, store
from coding.codebook.proposals import accept_proposal, proposals, reject_proposal
from app_pages.plain import md_escape
from coding.codebook.merge_preview import codebook_merge_preview
from coding.codebook.tree import TEXT_FIELDS, code_tree, parse_codebook, visible_code_tree
from coding.codebook.edits import add_code, edit_code, move_code, rename_code
from coding.codebook.history import codebook_changes
from coding.codebook.restructure import delete_code, delete_impact, merge_codes, split_code
from coding.work.counts import visible_coding_counts
from coding.errors import CodingError
from coding.team.projects import get_project
from coding.work.attributes import attributes_preview
from coding.work.documents import import_attributes
from coding.work.staged_import import import_codebook_staged

TOP = "(top level)"
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
EDIT_KEYS = ("name", *TEXT_FIELDS, "colour", "codable")
CONFIRM_KEYS = ("codebook_merge_confirm", "codebook_delete_confirm")
_KEEP = object()  # "leave the selection as it is"

st.title("Codebook")
ctx = require_member()
if ctx is None:
    st.stop()
project_name, member = ctx


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def swatch(value: str) -> str:
    """Cell style showing a colour: a background set through pandas' Styler, never HTML."""
    if not HEX.match(str(value)):
        return ""
    r, g, b = (int(value[i:i + 2], 16) for i in (1, 3, 5))
    ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "white"
    return f"background-color: {value}; color: {ink}"


def _run(action) -> None:
    """Run ``action(s, project) -> (message, selection)`` in one transaction; show the outcome
    on the next run and, unless ``_KEEP``, select that code (None: the first one)."""
    try:
        # re-run on a clash with another writer: the engine re-reads what it changes
        message, selection = store().run(lambda s: action(s, get_project(s, project_name)))
    except CodingError as exc:
        st.session_state["codebook_flash"] = ("error", str(exc))
        return
    st.session_state["codebook_flash"] = ("success", message)
    if selection is None:
        st.session_state.pop("codebook_code", None)
    elif selection is not _KEEP:
        st.session_state["codebook_code"] = selection


# --- callbacks (run before the next script run, with the arguments bound on screen) ---------

def on_save(code_id: str) -> None:
    ss = st.session_state

    def act(s, p):
        rename_code(s, p, member, code_id, ss["codebook_name"])
        edit_code(s, p, member, code_id, codable=bool(ss["codebook_codable"]), colour=ss["codebook_colour"],
                  **{f: ss[f"codebook_{f}"] for f in TEXT_FIELDS})
        return f"Saved {code_tree(s, p).info[code_id].path}.", _KEEP
    _run(act)


def on_add(code_id: str | None, parent_id: str | None) -> None:
    ss = st.session_state
    where = ss.get("codebook_add_where", "top") if code_id else "top"
    parent, after = {"child": (code_id, None), "sibling": (parent_id, code_id)}.get(where, (None, None))

    def act(s, p):
        c = add_code(s, p, member, parent, ss.get("codebook_add_name", ""),
                     codable=bool(ss.get("codebook_add_codable", True)),
                     definition=ss.get("codebook_add_definition", ""), after_id=after)
        return f"Added {code_tree(s, p).info[c.id].path}.", c.id
    _run(act)
    if ss["codebook_flash"][0] == "success":
        ss["codebook_add_name"] = ""
        ss["codebook_add_definition"] = ""


def on_move(code_id: str) -> None:
    target = st.session_state.get("codebook_move_parent")
    if target is None:
        st.session_state["codebook_flash"] = ("error", "Choose where to move the code first.")
        return

    def act(s, p):
        move_code(s, p, member, code_id, None if target == TOP else target)
        return f"Moved to {code_tree(s, p).info[code_id].path}.", _KEEP
    _run(act)


def on_merge(code_id: str, source_path: str) -> None:
    ss = st.session_state
    target = ss.get("codebook_merge_target")
    if not ss.get("codebook_merge_confirm"):
        ss["codebook_flash"] = ("error", f"Tick the confirmation to merge {source_path}.")
        return
    if target is None:
        ss["codebook_flash"] = ("error", "Choose the code to merge into first.")
        return

    def act(s, p):
        n = merge_codes(s, p, member, code_id, target)
        return f"Merged {source_path} into {code_tree(s, p).info[target].path}: {plural(n, 'coding')} moved.", target
    _run(act)
    ss["codebook_merge_confirm"] = False


def on_split(code_id: str) -> None:
    names = (st.session_state.get("codebook_split_names") or "").splitlines()

    def act(s, p):
        made = split_code(s, p, member, code_id, names)
        return (f"Added {', '.join(c.name for c in made)} under {code_tree(s, p).info[code_id].path}. "
                "Its codings stay on it until coders re-code them into the new codes.", _KEEP)
    _run(act)
    if st.session_state["codebook_flash"][0] == "success":
        st.session_state["codebook_split_names"] = ""


def on_delete(code_id: str, parent_id: str | None, shown_codings: int, path: str) -> None:
    if not st.session_state.get("codebook_delete_confirm"):
        st.session_state["codebook_flash"] = ("error", f"Tick the confirmation to delete {path}.")
        return

    def act(s, p):
        n = delete_code(s, p, member, code_id, confirm_count=shown_codings)
        return f"Deleted {path} and {plural(n, 'coding')}.", parent_id
    _run(act)
    st.session_state["codebook_delete_confirm"] = False  # a refused delete needs a fresh confirmation


# --- data -----------------------------------------------------------------------------

with store().session(write=False) as s:
    project = get_project(s, project_name)
    tree = visible_code_tree(s, project, member)  # another coder's proposals left out
    counts = visible_coding_counts(s, project, member)
    version = project.codebook_version
    changes = codebook_changes(s, project, member)  # the blind rule: summaries count what you see

flash = st.session_state.pop("codebook_flash", None)
if flash:
    getattr(st, flash[0])(md_escape(flash[1]))

subtotal = {i.id: counts.get(i.id, 0) + sum(counts.get(d, 0) for d in tree.descendants(i.id)) for i in tree.infos}
st.caption(f"{md_escape(project.codebook_title or project_name)} · version {version} · "
           f"{plural(sum(1 for i in tree.infos if i.codable), 'codable code')}, "
           f"{plural(sum(1 for i in tree.infos if not i.codable), 'folder')}")

if tree.infos:
    table = pd.DataFrame([
        {"code": "\u2003" * i.depth + i.name, "kind": "codable" if i.codable else "folder", "colour": i.colour,
         "codings": counts.get(i.id, 0), "with sub-codes": subtotal[i.id]}
        for i in tree.infos
    ])
    styled = table.style.map(swatch, subset=["colour"])
    st.dataframe(styled, hide_index=True, width="stretch", key="codebook_tree",
                 height=min(38 + 35 * len(table), 800))
else:
    st.info("The codebook is empty." + (" Add its first code below." if member.is_lead else
                                        " A lead builds it here or imports a YAML codebook."))

with store().session(write=False) as s:
    open_proposals = proposals(s, get_project(s, project_name), member)
if open_proposals:
    with st.expander(f"Proposed codes ({len(open_proposals)})", expanded=member.is_lead):
        st.caption("Codes coders created while coding. They use them in their own codings; other coders do "
                   "not see them until a lead accepts them." if member.is_lead else
                   "Your proposals, waiting for a lead's decision.")
        for prop in open_proposals:
            with st.container(border=True, key=f"codebook_prop_{prop['id']}"):
                st.text(f"{prop['path']} · proposed by {prop['proposed_by']} · {plural(prop['codings'], 'coding')}"
                        + (f"\n{prop['definition']}" if prop["definition"] else ""))
                if not member.is_lead:
                    continue
                others = [i.id for i in tree.infos if i.codable and i.status == "active"]
                c1, c2, c3 = st.columns([2, 3, 2], vertical_alignment="bottom")
                new_name = c1.text_input("Accept as", value=prop["name"], key=f"codebook_prop_name_{prop['id']}")
                c1.button("Accept", key=f"codebook_prop_accept_{prop['id']}", on_click=_run, args=(
                    lambda s, p, pid=prop["id"], k=f"codebook_prop_name_{prop['id']}": (
                        f"Accepted {accept_proposal(s, p, member, pid, name=st.session_state.get(k)).name}.",
                        _KEEP),))
                into = c2.selectbox("Merge into", others, index=None, key=f"codebook_prop_into_{prop['id']}",
                                    format_func=lambda c: tree.info[c].path, placeholder="an existing code")
                c2.button("Merge", key=f"codebook_prop_merge_{prop['id']}", disabled=into is None, on_click=_run,
                          args=(lambda s, p, pid=prop["id"], into=into: (
                              f"Merged: {reject_proposal(s, p, member, pid, merge_into=into)} coding(s) moved.",
                              None),))
                c3.button("Reject", key=f"codebook_prop_reject_{prop['id']}", type="primary", on_click=_run,
                          help="Delete the proposal and its codings (kept in the event log)",
                          args=(lambda s, p, pid=prop["id"]: (
                              f"Rejected: {reject_proposal(s, p, member, pid)} coding(s) deleted.", None),))

info = None
if tree.infos:
    ids = [i.id for i in tree.infos]
    if st.session_state.get("codebook_code") not in tree.info:
        st.session_state.pop("codebook_code", None)
    code_id = st.selectbox("Code", ids, key="codebook_code",
                           format_func=lambda c: tree.info[c].path + ("" if tree.info[c].codable else "  (folder)"))
    info = tree.info[code_id]

    # Load the selected code into the edit widgets when the selection or the codebook changes.
    stamp = (info.id, version)
    if st.session_state.get("codebook_loaded") != stamp:
        for f in EDIT_KEYS:
            st.session_state[f"codebook_{f}"] = getattr(info, f)
        for k in CONFIRM_KEYS:
            st.session_state[k] = False
        st.session_state["codebook_loaded"] = stamp

if info is not None and not member.is_lead:
    with st.container(border=True, key="codebook_details"):
        st.text(f"{info.path} · {'codable' if info.codable else 'folder'} · colour {info.colour} · "
                f"{plural(counts.get(info.id, 0), 'coding')}")
        for f in TEXT_FIELDS:
            value = getattr(info, f)
            if value:
                st.markdown(f"**{f.capitalize()}**")
                st.text(value)
    st.caption("Only a lead can change the codebook.")

if member.is_lead:
    if info is None:
        with st.form("codebook_add_form"):
            st.text_input("Name of the first code", key="codebook_add_name")
            st.text_area("Definition", key="codebook_add_definition", height=80)
            st.checkbox("Codable (untick for a folder-only parent)", value=True, key="codebook_add_codable")
            st.form_submit_button("Add code", key="codebook_add", on_click=on_add, args=(None, None))
    else:
        others = [i for i in tree.infos if i.id != info.id]
        branch = {info.id, *tree.descendants(info.id)}
        t_edit, t_add, t_move, t_merge, t_split, t_delete = st.tabs(
            ["Edit", "Add", "Move", "Merge", "Split", "Delete"])

        with t_edit, st.form("codebook_edit_form", border=False):
            st.text_input("Name", key="codebook_name")
            st.text_area("Definition", key="codebook_definition", height=100)
            st.text_area("Inclusion criteria", key="codebook_inclusion", height=80)
            st.text_area("Exclusion criteria", key="codebook_exclusion", height=80)
            st.text_area("Example", key="codebook_example", height=80)
            c1, c2 = st.columns(2)
            c1.color_picker("Colour", key="codebook_colour")
            c2.checkbox("Codable (untick to make it a folder)", key="codebook_codable")
            st.form_submit_button("Save", key="codebook_save", type="primary", on_click=on_save, args=(info.id,))

        with t_add, st.form("codebook_add_form", border=False):
            st.radio("Where", ["child", "sibling", "top"], key="codebook_add_where", horizontal=True,
                     format_func={"child": f"Child of {md_escape(info.name)}",
                                  "sibling": f"Sibling after {md_escape(info.name)}",
                                  "top": "Top-level code"}.get)
            st.text_input("Name", key="codebook_add_name")
            st.text_area("Definition", key="codebook_add_definition", height=80)
            st.checkbox("Codable (untick for a folder-only parent)", value=True, key="codebook_add_codable")
            st.form_submit_button("Add code", key="codebook_add", on_click=on_add, args=(info.id, info.parent_id))

        with t_move:
            parents = ([] if info.parent_id is None else [TOP]) + [
                i.id for i in others if i.id not in branch and i.id != info.parent_id]
            if parents:
                st.selectbox(f"Move {md_escape(info.name)} (with its sub-codes and codings) under", parents,
                             key="codebook_move_parent", format_func=lambda c: c if c == TOP else tree.info[c].path)
                st.button("Move", key="codebook_move", on_click=on_move, args=(info.id,))
            else:
                st.info("There is no other place to move this code to.")

        with t_merge:
            targets = [i.id for i in others if i.codable and i.id not in branch]
            if targets:
                st.selectbox("Merge into", targets, key="codebook_merge_target",
                             format_func=lambda c: tree.info[c].path)
                n_own = counts.get(info.id, 0)
                kids = len(tree.children.get(info.id, []))
                st.checkbox(f"Move the {plural(n_own, 'coding')} of {md_escape(info.path)} (every coder and layer)"
                            + (f" and its {plural(kids, 'sub-code')}" if kids else "")
                            + f" into the chosen code, then delete {md_escape(info.name)}",
                            key="codebook_merge_confirm")
                st.caption("A coding identical to one the target already has (same coder, document and span) "
                           "is dropped rather than duplicated.")
                st.button("Merge", key="codebook_merge", on_click=on_merge, args=(info.id, info.path))
            else:
                st.info("There is no codable code to merge into outside this code's branch.")

        with t_split:
            st.text_area(f"New sub-codes of {md_escape(info.name)}, one name per line", key="codebook_split_names",
                         height=100)
            st.caption("The new codes are codable children. Existing codings stay on "
                       f"{md_escape(info.name)}: coders re-code them into the new codes.")
            st.button("Split", key="codebook_split", on_click=on_split, args=(info.id,))

        with t_delete:
            with store().session(write=False) as s:
                n_codes, n_codings = delete_impact(s, info.id)
            st.warning(f"This deletes {plural(n_codes, 'code')} and {plural(n_codings, 'coding')}: "
                       f"{md_escape(info.path)}" + (" and everything under it." if n_codes > 1 else "."))
            st.checkbox(f"Yes, delete {plural(n_codes, 'code')} and {plural(n_codings, 'coding')}",
                        key="codebook_delete_confirm")
            st.button("Delete", key="codebook_delete", type="primary", on_click=on_delete,
                      args=(info.id, info.parent_id, n_codings, info.path))

# --- import: a YAML codebook (leads), participant attributes (whoever may import) -----------

def _upload_key(what: str) -> str:
    """The uploader's key: a new one after each import, so the stored file leaves the page."""
    return f"codebook_{what}_file_{st.session_state.get(f'codebook_{what}_n', 0)}"


def _uploaded_done(what: str) -> None:
    st.session_state[f"codebook_{what}_n"] = st.session_state.get(f"codebook_{what}_n", 0) + 1


def _read_codebook(name: str, data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CodingError(f"{name}: is not UTF-8 text; save the codebook as UTF-8") from None
    return parse_codebook(text, name)  # errors name the file, the code path and the field


st.subheader("Import")
if member.is_lead:
    # A key keeps each box open across reruns (a message above would otherwise shift it and close it).
    with st.expander("A codebook (YAML)", key="codebook_yaml_box",
                     expanded=not tree.infos or st.session_state.get(_upload_key("yaml")) is not None):
        st.caption("Codes of the file that match a code here (by id, else by path) update it; the others are "
                   "added; codes the file does not name stay as they are. Nothing is stored until you import. "
                   "The format is in the README (Codebook format); `python -m coding codebook export` writes one.")
        up = st.file_uploader("Codebook file (.yaml, .yml)", type=["yaml", "yml"], key=_upload_key("yaml"))
        if up is not None:
            data = up.getvalue()
            try:
                book = _read_codebook(up.name, data)
                with store().session(write=False) as s:
                    plan = codebook_merge_preview(s, get_project(s, project_name), member, book)
            except CodingError as exc:
                st.error(md_escape(str(exc)), icon=":material/error:")
            else:
                n_new = sum(r.action == "create" for r in plan)
                n_upd = sum(r.action == "update" for r in plan)
                st.text(f"{up.name}: {plural(n_new, 'code')} to create, {plural(n_upd, 'code')} to update, "
                        f"{plural(sum(r.action == 'keep' for r in plan), 'code')} kept as they are.")
                st.dataframe(pd.DataFrame([{"code": r.path, "import": r.action,
                                             "changes": r.changes or ("no change" if r.action == "update" else "")}
                                            for r in plan]),
                             hide_index=True, width="stretch", key="codebook_yaml_preview",
                             height=min(38 + 35 * len(plan), 400))
                if st.button("Import this codebook", key="codebook_yaml_import", type="primary"):
                    try:
                        # stored out of sight and moved in at once: all or nothing, coders keep coding
                        counts = import_codebook_staged(store(), project_name, book, member=member, label=up.name)
                    except CodingError as exc:
                        st.error(md_escape(str(exc)), icon=":material/error:")
                    else:
                        st.session_state["codebook_flash"] = (
                            "success", f"Codebook imported from {up.name}: {counts['created']} created, "
                                       f"{counts['updated']} updated.")
                        _uploaded_done("yaml")
                        st.rerun()

with st.expander("Participant attributes (CSV)", key="codebook_csv_box",
                 expanded=st.session_state.get(_upload_key("csv")) is not None):
    st.caption("First column: the document's name; the other columns: attributes (e.g. document,cohort,site). "
               "Values of a document the file names replace its old ones; rows naming no document are skipped. "
               "Nothing is stored until you press the button, and then all rows or none.")
    up = st.file_uploader("Attributes file (.csv)", type=["csv"], key=_upload_key("csv"))
    if up is not None:
        data = up.getvalue()
        try:
            with store().session(write=False) as s:
                pre = attributes_preview(s, get_project(s, project_name), member, up.name, data)
        except CodingError as exc:
            st.error(md_escape(str(exc)), icon=":material/error:")
        else:
            for w in pre.warnings:
                st.warning(md_escape(w))
            st.text(f"{up.name}: attributes {', '.join(pre.columns)}; {plural(len(pre.matched), 'document')} "
                    f"matched, {plural(len(pre.unmatched), 'row')} naming no document.")
            rows = ([{"document": n, "in this project": "matched: gets these values"} for n in pre.matched]
                    + [{"document": n, "in this project": f"no such document (line {line}): skipped"}
                       for line, n in pre.unmatched]
                    + [{"document": n, "in this project": "not in the file: keeps its values"}
                       for n in pre.without_row])
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="codebook_csv_preview")
            if st.button("Store these attributes", key="codebook_csv_import", type="primary",
                         disabled=not pre.matched):
                try:
                    count, _ = store().run(lambda s: import_attributes(s, get_project(s, project_name), up.name,
                                                                       data, actor=member))
                except CodingError as exc:
                    st.error(md_escape(str(exc)), icon=":material/error:")
                else:
                    st.session_state["codebook_flash"] = (
                        "success", f"Attributes stored from {up.name}: {plural(count, 'value')} for "
                                   f"{plural(len(pre.matched), 'document')}"
                                   + (f"; skipped {', '.join(n for _, n in pre.unmatched)}." if pre.unmatched
                                      else "."))
                    _uploaded_done("csv")
                    st.rerun()

st.subheader("Recent codebook changes")
if changes:
    st.dataframe(
        pd.DataFrame([{"when": f"{c['when']:%Y-%m-%d %H:%M}", "who": c["who"], "action": c["action"],
                       "what": c["what"]} for c in changes]),
        hide_index=True, width="stretch", key="codebook_changes",
    )
else:
    st.caption("No edits yet.")
