"""Shared UI state: the store, the open project and the signed-in member.

Session keys: ``project`` (name; also in the URL as ``?project=NAME``), ``member`` (a :class:`coding.team.projects.Member`,
rewritten from the database on every run: only its id is trusted),
``auth_session`` (the id of the member's session row) and ``auth_cookie`` (a
pending cookie action for the browser).

Sessions survive a reload through an HTTP-only cookie. A Streamlit script cannot
set a cookie, so signing in stores a one-time *grant* (valid 2 minutes) and a tiny
component posts it to ``/account/session``, a route that ``app.py`` adds to the
server; the route answers with ``Set-Cookie: coding_session=...; HttpOnly;
SameSite=Strict``. On the next page load the browser sends the cookie with the
WebSocket handshake, where ``st.context.cookies`` reads it. Page JavaScript never
sees the token. Sign-out revokes the session row and asks ``/account/sign-out``
to delete the cookie.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Mapping

import streamlit as st

from app_pages.plain import md_escape
from coding.team.accounts import must_change_password, set_password, sign_in
from coding.team.sessions import (
    SESSION_COOKIE,
    TOUCH_EVERY,
    IssuedSession,
    close_session,
    open_session,
    resume_session,
    session_member,
    touch_session,
)
from coding.errors import CodingError
from coding.team.network import is_loopback, local_connection_problem
from coding.team.projects import get_project, list_projects, project_name_by_id
from coding.team.members import Member, active_coder, members
from coding.store import Store

_SESSION = "auth_session"
_COOKIE_ACTION = "auth_cookie"
_COOKIE_TRIED = "auth_cookie_tried"
_COOKIE_FAILED = "auth_cookie_failed"
_NOTICE = "auth_notice"
_TOUCHED = "auth_touched"
_URL_PROJECT = "project_in_url"


@st.cache_resource
def get_store(url: str | None) -> Store:
    return Store(url)


def store() -> Store:
    return get_store(os.environ.get("CODING_DB_URL"))


def report(exc: CodingError) -> None:
    """An engine refusal, shown as plain text (it may quote names users typed)."""
    st.error(md_escape(str(exc)), icon=":material/error:")


# --- where the server listens ---------------------------------------------------


def _headers() -> Mapping:
    headers = st.context.headers
    return headers if isinstance(headers, Mapping) else {}


def _served() -> bool:
    """Whether this run belongs to a real connection. AppTest has none: no headers at all,
    where a browser's WebSocket handshake always sends some."""
    return bool(_headers())


def _local_problem() -> str | None:
    """Why this request may not use local single-user mode (no passwords), or None.

    Decided from the connection, as the server saw it (app_pages/server.py adds the
    X-Coding-* headers): made from this computer, to a loopback address, through no
    proxy. ``server.address`` says nothing about that (``uvicorn app:app --host 0.0.0.0``
    ignores it), so only AppTest, which has no connection, falls back to it."""
    headers = _headers()
    if not _served():
        address = st.get_option("server.address")
        if not is_loopback(address):
            where = f"on {md_escape(address)}" if address else "on every network interface (no server.address set)"
            return f"this server listens {where}"
        return None
    if "X-Coding-Peer" not in headers:
        return "this server cannot tell where the request came from (serve app.py's `app`)"
    forwarded = any(h in headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-Ip"))
    problem = local_connection_problem(headers.get("X-Coding-Peer"), headers.get("X-Coding-Local"),
                                       forwarded=forwarded)
    return None if problem is None else md_escape(problem)


def server_is_loopback() -> bool:
    """Whether local single-user mode may be offered to this request: it was made on this
    computer, to a loopback address, without a proxy (see :func:`_local_problem`)."""
    return _local_problem() is None


def local_mode_refusal(project_name: str) -> str | None:
    """Why a local-mode project may not be used here, or None (Markdown-safe)."""
    problem = _local_problem()
    if problem is None:
        return None
    return (f"Project {md_escape(project_name)} is in local single-user mode (no passwords), and {problem}. "
            "Open the app on the computer it runs on (at 127.0.0.1; start it with `--server.address 127.0.0.1` "
            "so nobody else can reach it), or protect the project: `python -m coding --as LEAD passwd PROJECT`, then "
            "`python -m coding --as LEAD local-mode PROJECT off`.")


# --- the session cookie -------------------------------------------------------------

_COOKIE_JS = """
const done = new Set();
export default function (component) {
  const {data, setTriggerValue} = component;
  if (!data || !data.action || done.has(data.nonce)) return;
  done.add(data.nonce);
  const path = data.action === "set" ? "/account/session" : "/account/sign-out";
  fetch(path, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(data.action === "set" ? {grant: data.grant} : {}),
  }).then(
    (r) => setTriggerValue("done", {nonce: data.nonce, ok: r.ok, status: r.status}),
    () => setTriggerValue("done", {nonce: data.nonce, ok: false, status: 0}),
  );
}
"""

_cookie_component = st.components.v2.component("coding_workbench.session_cookie", html="<span></span>",
                                               js=_COOKIE_JS)


def _cookie_done() -> None:
    value = st.session_state.get("common_cookie") or {}
    done = value.get("done") if hasattr(value, "get") else None
    pending = st.session_state.get(_COOKIE_ACTION)
    if not done or not pending or done.get("nonce") != pending["nonce"]:
        return
    st.session_state.pop(_COOKIE_ACTION, None)
    if pending["action"] == "set" and not done.get("ok"):
        st.session_state[_COOKIE_FAILED] = int(done.get("status") or 0)


def _mount_cookie_component() -> None:
    pending = st.session_state.get(_COOKIE_ACTION)
    if pending:
        with st.sidebar:
            _cookie_component(key="common_cookie", data=pending, default={}, on_done_change=_cookie_done,
                              height=0)


def _queue_cookie(action: str, grant: str = "") -> None:
    st.session_state[_COOKIE_ACTION] = {"action": action, "grant": grant, "nonce": secrets.token_hex(8)}


def _source() -> str:
    """The address a sign-in counts against (app_pages/server.py: the connection's peer, or
    what a listed proxy forwarded), never what the client wrote; AppTest has none."""
    if not _served():
        return "this computer"
    return _headers().get("X-Coding-Source") or "unknown"


def _forget_member() -> None:
    for k in ("member", _SESSION):
        st.session_state.pop(k, None)


def _restore_from_cookie() -> None:
    """After a reload: sign the tab in from its session cookie (once per cookie value)."""
    if st.session_state.get(_SESSION) or st.session_state.get("member"):
        return
    token = st.context.cookies.get(SESSION_COOKIE)
    if not isinstance(token, str) or not token:  # AppTest has no real request
        return
    tried = hashlib.sha256(token.encode()).hexdigest()
    if st.session_state.get(_COOKIE_TRIED) == tried:
        return
    st.session_state[_COOKIE_TRIED] = tried
    try:
        def resume(s):
            member, sid = resume_session(s, token)   # may touch the session row: a write
            return member, sid, project_name_by_id(s, member.project_id)
        member, sid, project_name = store().run(resume)
    except CodingError as exc:
        st.session_state[_NOTICE] = str(exc)
        return
    st.session_state.update({"member": member, _SESSION: sid, "project": project_name})


def _current(project_name: str) -> Member | None:
    """The signed-in member of this tab, reloaded from the database, or None."""
    sid = st.session_state.get(_SESSION)
    held: Member | None = st.session_state.get("member")
    if sid is None and held is None:
        return None
    try:
        # a read: every run of every tab passes here, and must not queue behind writers
        with store().session(write=False) as s:
            project = get_project(s, project_name)
            if sid is not None:
                m = session_member(s, sid, touch=False)
            elif project.local_mode:
                # a tab signed in without a session (tests): in local mode the name was enough
                m = Member.of(active_coder(s, held, project))
            else:
                m = None
            if m is not None and m.project_id != project.id:
                m = None
    except CodingError as exc:
        st.session_state[_NOTICE] = str(exc)
        m = None
    if m is None:
        _forget_member()
        return None
    st.session_state["member"] = m
    if sid is not None and time.monotonic() - st.session_state.get(_TOUCHED, 0) > TOUCH_EVERY.total_seconds():
        store().run(lambda s: touch_session(s, sid))
        st.session_state[_TOUCHED] = time.monotonic()
    return m


# --- sidebar -----------------------------------------------------------------------


def project_picker() -> str | None:
    """Sidebar: pick a project; offer the demo study when there is none."""
    _restore_from_cookie()
    with store().session(write=False) as s:
        names = [p.name for p in list_projects(s)]
    if not names:
        return None
    current = st.session_state.get("project")
    # The URL names the open project (?project=NAME), so a link to a page opens that project.
    # It is followed when it names another project than this tab last put there (a link, a typed
    # address); otherwise the session decides, and the URL is brought up to date below.
    asked = st.query_params.get("project")
    if asked in names and asked != st.session_state.get(_URL_PROJECT):
        current = asked
    if current not in names:
        current = "demo" if "demo" in names else names[0]
    if current != st.session_state.get("project"):
        st.session_state["project"] = current
        _forget_member()
    st.session_state[_URL_PROJECT] = current
    if asked != current:
        st.query_params["project"] = current
    # The box shows the open project on every run: another page makes a new box, which
    # would otherwise start at the first name. A pick in the box arrives through _picked.
    st.session_state["common_project"] = current
    return st.sidebar.selectbox("Project", names, key="common_project", on_change=_picked)


def _picked() -> None:
    """The member picked another project in the sidebar box: open it, signed out."""
    if st.session_state.get("common_project") != st.session_state.get("project"):
        st.session_state["project"] = st.session_state.get("common_project")
        _forget_member()


def open_tab_session(s, member: Member) -> tuple[Member, IssuedSession, str]:
    """The session row for ``member``, who just proved who they are (a sign-in, or the lead
    of a project just created). Call inside the transaction that checked them; it only
    writes to the database, so that transaction may be re-run (``Store.run``). Pass what
    it returns to :func:`begin_session` after the commit."""
    issued = open_session(s, member, client=f"browser, {_source()}")
    return member, issued, project_name_by_id(s, member.project_id)


def begin_session(opened: tuple[Member, IssuedSession, str]) -> None:
    """Sign this tab in with a session from :func:`open_tab_session` (committed): remember
    it and queue its cookie. Rerun after."""
    member, issued, project_name = opened
    st.session_state.update({"member": member, _SESSION: issued.id, "project": project_name})
    st.session_state.pop(_COOKIE_FAILED, None)
    _queue_cookie("set", issued.secret)


def _sign_out() -> None:
    sid = st.session_state.get(_SESSION)
    if sid:
        store().run(lambda s: close_session(s, sid))
    _forget_member()
    _queue_cookie("clear")


def _password_form(project_name: str, m: Member) -> None:
    """A member signed in with a temporary password chooses their own first."""
    with st.sidebar.form("common_new_password", clear_on_submit=True):
        st.markdown("**Choose your own password**")
        st.caption("You signed in with a temporary password from a lead. At least 10 characters; "
                   "a few unrelated words work well.")
        old = st.text_input("Temporary password", type="password", key="common_pw_old")
        new = st.text_input("New password", type="password", key="common_pw_new")
        again = st.text_input("New password again", type="password", key="common_pw_again")
        ok = st.form_submit_button("Set password")
    if ok:
        if new != again:
            st.sidebar.error("The two new passwords differ: type them again.")
            return
        try:
            keep = st.session_state.get(_SESSION)
            store().run(lambda s: set_password(s, get_project(s, project_name), m, new, old_password=old,
                                               keep_session=keep))
            st.rerun()
        except CodingError as exc:
            st.sidebar.error(md_escape(str(exc)))


def sign_in_box(project_name: str) -> Member | None:
    """Sidebar sign-in. Protected project: name and password. Local mode: pick a name
    (a password when the member has one), and only on a loopback server address.
    Returns the member, reloaded from the database, or None."""
    _mount_cookie_component()
    with store().session(write=False) as s:
        project = get_project(s, project_name)
        local = project.local_mode
        people = [(c.name, c.role) for c in members(s, project, active_only=True)] if local else []
    if local:
        refusal = local_mode_refusal(project_name)
        if refusal:
            _forget_member()
            st.sidebar.error(refusal)
            return None
    m = _current(project_name)
    notice = st.session_state.pop(_NOTICE, None)  # why a session ended (set by _current or a restore)
    if m is not None:
        st.sidebar.markdown(f"Signed in as **{md_escape(m.name)}** ({md_escape(m.role)})")
        if st.session_state.get(_COOKIE_FAILED) is not None:
            st.sidebar.caption("This sign-in ends when the page reloads: the session cookie could not be set "
                               f"(answer {st.session_state[_COOKIE_FAILED]}). Start the app with "
                               "`streamlit run app.py` to keep sessions across reloads.")
        if st.sidebar.button("Sign out", key="common_sign_out"):
            _sign_out()
            st.rerun()
        with store().session(write=False) as s:
            change = must_change_password(s, m)
        if change:
            _password_form(project_name, m)
            return None
        return m
    if notice:
        st.sidebar.info(md_escape(notice))
    with st.sidebar.form("common_sign_in"):
        st.markdown("**Sign in**")
        if local:
            if not people:
                st.info("This project has no members yet.")
            labels = [f"{n} ({r})" for n, r in people]
            idx = st.selectbox("Member", range(len(people)), format_func=lambda i: labels[i], key="common_who")
            who = people[idx][0] if people and idx is not None else ""
            pw = st.text_input("Password", type="password", key="common_pw",
                               help="Leave empty for a member without a password (local mode)")
        else:
            who = st.text_input("Name", key="common_name")
            pw = st.text_input("Password", type="password", key="common_pw")
        ok = st.form_submit_button("Sign in")
    if ok:
        try:
            source = _source()
            # sign_in commits a failed try before it raises, so a re-run cannot record it twice
            begin_session(store().run(
                lambda s: open_tab_session(s, sign_in(s, get_project(s, project_name), who, pw or None,
                                                      source=source))))
            st.rerun()
        except CodingError as exc:
            st.sidebar.error(md_escape(str(exc)))
    return None


def current_session_id() -> str | None:
    """The id of this tab's session row (None when signed in without one, as tests do)."""
    return st.session_state.get(_SESSION)


def require_member(lead: bool = False) -> tuple[str, Member] | None:
    """Project and member for pages that need a signed-in user; shows why not otherwise."""
    name = project_picker()
    if name is None:
        st.info("No project yet: open the **Project** page to build the demo study or create one.")
        return None
    m = sign_in_box(name)
    if m is None:
        if st.session_state.get(_SESSION):
            st.info("Choose your own password in the sidebar to continue.")
        else:
            st.info("Sign in from the sidebar to continue.")
        return None
    if lead and not m.is_lead:
        st.warning("This page is for leads. Sign in as a lead to use it.")
        return None
    return name, m
