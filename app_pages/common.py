"""Shared UI state: the store, the open project and the signed-in member.

Session keys: ``project`` (name) and ``member`` (coding.projects.Member).
"""

from __future__ import annotations

import os

import streamlit as st

from app_pages.plain import md_escape
from coding.auth import sign_in
from coding.errors import CodingError
from coding.projects import Member, get_project, list_projects, members
from coding.store import Store


@st.cache_resource
def get_store(url: str | None) -> Store:
    return Store(url)


def store() -> Store:
    return get_store(os.environ.get("CODING_DB_URL"))


def report(exc: CodingError) -> None:
    st.error(str(exc), icon=":material/error:")


def project_picker() -> str | None:
    """Sidebar: pick a project; offer the demo study when there is none."""
    with store().session() as s:
        names = [p.name for p in list_projects(s)]
    if not names:
        return None
    current = st.session_state.get("project")
    if current not in names:
        current = "demo" if "demo" in names else names[0]
    name = st.sidebar.selectbox("Project", names, index=names.index(current), key="common_project")
    if name != st.session_state.get("project"):
        st.session_state["project"] = name
        st.session_state.pop("member", None)
    return name


def sign_in_box(project_name: str) -> Member | None:
    """Sidebar sign-in: pick a member; a password when the member has one."""
    m: Member | None = st.session_state.get("member")
    if m is not None and m.project_id:
        st.sidebar.markdown(f"Signed in as **{md_escape(m.name)}** ({md_escape(m.role)})")
        if st.sidebar.button("Sign out", key="common_sign_out"):
            st.session_state.pop("member", None)
            st.rerun()
        return m
    with store().session() as s:
        project = get_project(s, project_name)
        people = [(c.name, c.role, c.password_hash is not None) for c in members(s, project)]
        local = project.local_mode
    if not people:
        st.sidebar.info("This project has no members yet: add a lead on the Project page.")
        return None
    with st.sidebar.form("common_sign_in"):
        st.markdown("**Sign in**")
        labels = [f"{n} ({r})" for n, r, _ in people]
        idx = st.selectbox("Member", range(len(people)), format_func=lambda i: labels[i], key="common_who")
        pw = st.text_input("Password", type="password", key="common_pw",
                           help="Leave empty in local mode for members without a password" if local else None)
        ok = st.form_submit_button("Sign in")
    if ok:
        try:
            with store().session() as s:
                st.session_state["member"] = sign_in(s, get_project(s, project_name), people[idx][0], pw or None)
            st.rerun()
        except CodingError as exc:
            st.sidebar.error(str(exc))
    return None


def require_member(lead: bool = False) -> tuple[str, Member] | None:
    """Project and member for pages that need a signed-in user; shows why not otherwise."""
    name = project_picker()
    if name is None:
        st.info("No project yet: open the **Project** page to build the demo study or create one.")
        return None
    m = sign_in_box(name)
    if m is None:
        st.info("Sign in from the sidebar to continue.")
        return None
    if lead and not m.is_lead:
        st.warning("This page is for leads. Sign in as a lead to use it.")
        return None
    return name, m
