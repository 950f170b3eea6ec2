"""Streamlit entry point: `streamlit run app.py` (see README for the one-command start).

This file plays two parts:

- Streamlit runs it as the page script (``__name__ == "__main__"``): the pages.
- ``streamlit run app.py`` first finds the ``st.App`` below, imports this file as a
  module and serves that App: Streamlit plus two routes that set and delete the
  HTTP-only session cookie, which a Streamlit script cannot do itself (see
  app_pages/common.py for the sign-in flow), and two middlewares: the facts of each
  connection and headers that forbid framing (app_pages/server.py). ``uvicorn app:app``
  serves it too.
"""

import streamlit as st

if __name__ == "__main__":
    st.set_page_config(page_title="Interview coding workbench", page_icon="💬",
                       layout="wide")
    pages = [
        st.Page("app_pages/project.py", title="Project", icon=":material/folder_open:", default=True),
        st.Page("app_pages/coding_page.py", title="Code transcripts", icon=":material/edit_note:"),
        st.Page("app_pages/codebook_page.py", title="Codebook", icon=":material/account_tree:"),
        st.Page("app_pages/agreement_page.py", title="Agreement", icon=":material/compare_arrows:"),
        st.Page("app_pages/memos_page.py", title="Memos", icon=":material/sticky_note_2:"),
        st.Page("app_pages/retrieve_page.py", title="Retrieve", icon=":material/manage_search:"),
        st.Page("app_pages/exports_page.py", title="Exports", icon=":material/download:"),
        st.Page("app_pages/suggestions_page.py", title="Suggestions", icon=":material/lightbulb:"),
        st.Page("app_pages/members_page.py", title="Members", icon=":material/group:"),
        st.Page("app_pages/interchange_page.py", title="Exchange", icon=":material/swap_horiz:"),
        st.Page("app_pages/report_page.py", title="Report", icon=":material/description:"),
    ]
    from app_pages.common import store
    from app_pages.plain import md_escape
    from coding.errors import CodingError

    try:
        store()  # a database that cannot be opened (or needs `python -m coding migrate`) says so here
    except CodingError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        st.stop()
    st.navigation(pages).run()
else:
    import os
    from datetime import UTC, datetime
    from pathlib import Path
    from urllib.parse import urlsplit

    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from app_pages.server import ConnectionFacts, FrameHeaders
    from coding.team.sessions import SESSION_COOKIE, close_session_by_token, redeem_grant
    from coding.errors import CodingError
    from coding.team.network import trusted_proxies
    from coding.store import shared_store

    try:
        TRUSTED_PROXIES = trusted_proxies()  # a wrong setting stops the server here, saying which
    except CodingError as exc:
        raise SystemExit(f"app.py: {exc}") from None

    def _refuse_cross_site(request: Request) -> JSONResponse | None:
        """Only the app's own pages may call these routes (login CSRF): the browser's
        Origin must name the host the request was sent to."""
        origin = request.headers.get("origin") or ""
        if not origin or urlsplit(origin).netloc != request.headers.get("host", ""):
            return JSONResponse({"error": "cross-site request refused"}, status_code=403)
        return None

    def _secure(request: Request) -> bool:
        return (request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
                or os.environ.get("CODING_COOKIE_SECURE") == "1")

    def _no_store(response: JSONResponse) -> JSONResponse:
        response.headers["Cache-Control"] = "no-store"
        return response

    async def session_cookie(request: Request) -> JSONResponse:
        """Trade the one-time grant of a fresh sign-in for the session cookie."""
        if (refused := _refuse_cross_site(request)) is not None:
            return refused
        try:
            grant = str((await request.json()).get("grant") or "")
        except (ValueError, AttributeError):
            return JSONResponse({"error": "send {\"grant\": ...} as JSON"}, status_code=400)

        def redeem():
            with shared_store(os.environ.get("CODING_DB_URL")).session() as s:
                return redeem_grant(s, grant)

        try:
            issued = await run_in_threadpool(redeem)
        except CodingError as exc:
            return _no_store(JSONResponse({"error": str(exc)}, status_code=403))
        response = JSONResponse({"ok": True})
        response.set_cookie(SESSION_COOKIE, issued.secret, path="/", httponly=True, samesite="strict",
                            secure=_secure(request),
                            max_age=max(60, int((issued.expires_at - datetime.now(UTC)).total_seconds())))
        return _no_store(response)

    async def sign_out_cookie(request: Request) -> JSONResponse:
        """Delete the session cookie (and end its session, should the page not have)."""
        if (refused := _refuse_cross_site(request)) is not None:
            return refused
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            def close():
                with shared_store(os.environ.get("CODING_DB_URL")).session() as s:
                    close_session_by_token(s, token)

            try:
                await run_in_threadpool(close)
            except CodingError:
                pass  # the cookie goes anyway; the page already ended the session
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
        return _no_store(response)

    app = st.App(Path(__file__).resolve(), routes=[
        Route("/account/session", session_cookie, methods=["POST"]),
        Route("/account/sign-out", sign_out_cookie, methods=["POST"]),
    ], middleware=[
        # where each request really came from (local mode, sign-in limits) and no framing
        # by other sites: see app_pages/server.py
        Middleware(ConnectionFacts, trusted=TRUSTED_PROXIES),
        Middleware(FrameHeaders),
    ])
