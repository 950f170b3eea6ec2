"""Members page: your password and sessions; for a lead, the team: add members with a
temporary password, reset passwords, change roles, remove members, see and end
sessions, and the project's mode (protected or local single-user)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import current_session_id, report, require_member, store
from app_pages.plain import md_escape
from coding.team.accounts import member_overview, reset_password, set_password
from coding.team.sessions import list_sessions, revoke_session
from coding.errors import CodingError
from coding.team.projects import add_member, change_role, get_project, remove_member, set_local_mode
from coding.team.members import active_coder, members

st.title("Members")

ctx = require_member()
if ctx is None:
    st.stop()
name, me = ctx
sid = current_session_id()


def _when(dt) -> str:
    return "" if dt is None else f"{dt:%Y-%m-%d %H:%M} UTC"


def _run(action, done: str, keep: str | None = None) -> None:
    """Run an engine call in one transaction (re-run on a clash with another writer); show
    what happened, or the engine's refusal. ``keep``: session key for the call's result."""
    try:
        result = store().run(lambda s: action(s, get_project(s, name)))
    except CodingError as exc:
        report(exc)
        return
    if keep:
        st.session_state[keep] = result
    st.session_state["members_done"] = done
    st.rerun()


if msg := st.session_state.pop("members_done", None):
    st.success(msg)

with store().session(write=False) as s:
    project = get_project(s, name)
    local = project.local_mode
    has_password = active_coder(s, me, project).password_hash is not None
    sessions = list_sessions(s, project, me)
    overview = member_overview(s, project, me) if me.is_lead else None
    active = [c.name for c in members(s, project, active_only=True)]

# --- your account ---------------------------------------------------------------

st.subheader("Your password")
with st.form("members_own_password", clear_on_submit=True):
    old = st.text_input("Current password", type="password", key="members_pw_old") if has_password else None
    new = st.text_input("New password", type="password", key="members_pw_new",
                        help="At least 10 characters, not a common password, not your name or the project's. "
                             "A few unrelated words work well.")
    again = st.text_input("New password again", type="password", key="members_pw_again")
    if st.form_submit_button("Change password" if has_password else "Set password"):
        if new != again:
            st.error("The two new passwords differ: type them again.")
        else:
            _run(lambda s, p: set_password(s, p, me, new, old_password=old, keep_session=sid),
                 "Password changed. Your other sessions were ended." if has_password else "Password set.")

# --- sessions ---------------------------------------------------------------------

st.subheader("Sessions" if me.is_lead else "Your sessions")
st.caption("A session lasts until it expires, its member signs out, or it is ended here. "
           + ("You see every member's." if me.is_lead else ""))
if sessions:
    st.dataframe(pd.DataFrame([{
        "member": x.member, "role": x.role, "where": x.client + (" (this tab)" if x.id == sid else ""),
        "signed in": _when(x.created_at), "last seen": _when(x.last_seen_at), "expires": _when(x.expires_at),
    } for x in sessions]), hide_index=True, width="stretch", key="members_sessions")
    labels = {x.id: f"{x.member} · {x.client} · since {_when(x.created_at)}" + (" (this tab)" if x.id == sid else "")
              for x in sessions}
    with st.form("members_revoke"):
        chosen = st.selectbox("Session", list(labels), format_func=lambda i: labels[i], key="members_session")
        if st.form_submit_button("End this session"):
            _run(lambda s, p: revoke_session(s, p, me, chosen), "Session ended.")
else:
    st.caption("No open session.")

if not me.is_lead:
    st.subheader("Team")
    st.caption("Only a lead adds or removes members, changes roles and resets passwords.")
    st.dataframe(pd.DataFrame({"member": active}), hide_index=True, key="members_team")
    st.stop()

# --- the team (leads) ---------------------------------------------------------------

st.subheader("Team")
st.dataframe(pd.DataFrame([{
    "member": r["name"], "role": r["role"], "password": r["password"],
    "status": "removed" if r["removed"] else (f"locked until {_when(r['locked_until'])}" if r["locked_until"]
                                              else "active"),
    "last sign-in": _when(r["last_sign_in"]),
} for r in overview]), hide_index=True, width="stretch", key="members_table")

with st.form("members_add", clear_on_submit=True):
    st.markdown("**Add a member**")
    new_name = st.text_input("Name", key="members_add_name")
    new_role = st.selectbox("Role", ["coder", "lead"], key="members_add_role")
    temp = st.text_input("Temporary password" + (" (optional in local mode)" if local else ""), type="password",
                         key="members_add_pw",
                         help="Pass it on in person; the member chooses their own at the first sign-in.")
    if st.form_submit_button("Add member"):
        _run(lambda s, p: add_member(s, p, new_name, new_role, actor=me, password=temp or None),
             f"Added {md_escape(new_name.strip())} as {new_role}.")

if active:
    st.markdown("**Change a member**")
    who = st.selectbox("Member", active, key="members_who")
    c1, c2, c3 = st.columns(3)
    with c1.form("members_role"):
        role = st.selectbox("Role", ["coder", "lead"], key="members_role_new")
        if st.form_submit_button("Change role"):
            _run(lambda s, p: change_role(s, p, me, who, role), f"{md_escape(who)} is now a {role}.")
    with c2.form("members_reset", clear_on_submit=True):
        temp_pw = st.text_input("Temporary password", type="password", key="members_reset_pw",
                                help="Ends the member's sessions and lifts a lock-out; they choose their own "
                                     "password at the next sign-in.")
        if st.form_submit_button("Reset password"):
            _run(lambda s, p: reset_password(s, p, me, who, temp_pw),
                 f"Password of {md_escape(who)} reset: pass the temporary one on in person.")
    with c3.form("members_remove"):
        sure = st.checkbox("Remove this member (their codings and memos stay)", key="members_remove_sure")
        if st.form_submit_button("Remove member"):
            if not sure:
                st.error("Tick the box to confirm.")
            else:
                _run(lambda s, p: remove_member(s, p, me, who), f"{md_escape(who)} was removed.")

st.subheader("Project mode")
if local:
    st.warning("Local single-user mode: members without a password sign in by picking their name. The app "
               "serves this project only on a loopback address (this computer).")
    if st.button("Protect this project (passwords for everyone)", key="members_protect"):
        _run(lambda s, p: set_local_mode(s, p, me, False),
             "The project is protected: every member signs in with a password.", keep="members_no_password")
else:
    st.caption("Protected: every member signs in with a password.")
    if missing := st.session_state.pop("members_no_password", None):
        st.info("These members have no password and cannot sign in until you reset theirs: "
                + ", ".join(md_escape(n) for n in missing))
