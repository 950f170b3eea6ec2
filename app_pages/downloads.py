"""Download buttons that deliver their file on the first click, even during a rerun (issue 17, item 8).

Streamlit 1.67 offers two kinds of download button. A *deferred* one (``data`` a callable)
registers its callable under an id that lives one script run: when a run ends early
(``st.rerun()``, or a rerun the member started by clicking elsewhere) before the button was
drawn again, the id is dropped while the browser still holds it, and a click then fails
(``Deferred file ... not found`` in the log; the file never arrives). A *static* one carries
its bytes in the page: the file is kept for at least one further run, so a click during a
rerun still gets it. Every button here is static and ``on_click="ignore"``: clicking it
does not rerun the page (a rerun would start the race for the next click).

Two ways to build the file:

* bytes, or a callable that is cheap: built in this run (with ``basis`` and
  ``prepare=False``: built once and kept while ``basis`` stays the same);
* with ``basis`` (for a file that may take long to build, e.g. a quote bank of a whole
  project): a "Prepare" button builds it; the download button then holds the file while
  ``basis`` (what the file is made from: project, member, filters, options) stays the same.
  A file prepared for other choices is never offered.

Session keys: ``<key>__file`` (the prepared file and its basis), ``<key>__error``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app_pages.plain import md_escape
from coding.errors import CodingError

S = st.session_state
Data = bytes | str


def _fingerprint(basis: Any) -> str:
    return hashlib.sha256(repr(basis).encode()).hexdigest()


def _prepare(key: str, build: Callable[[], Data], fingerprint: str) -> None:
    """The Prepare button's callback: build the file now (before the page is drawn)."""
    try:
        data = build()
    except CodingError as exc:
        S[f"{key}__error"] = (fingerprint, str(exc))
        S.pop(f"{key}__file", None)
        return
    S.pop(f"{key}__error", None)
    S[f"{key}__file"] = (fingerprint, data, datetime.now(UTC))


def _size(data: Data) -> str:
    n = len(data.encode() if isinstance(data, str) else data)
    return f"{n:,} bytes" if n < 10_000 else f"{n / 1024:,.0f} KB" if n < 10_000_000 else f"{n / 2**20:,.1f} MB"


def download_button(where: Any, label: str, data: Data | Callable[[], Data], *, file_name: str, key: str,
                    mime: str | None = None, basis: Any = None, prepare: bool = True,
                    icon: str | None = ":material/download:", help: str | None = None,
                    disabled: bool = False) -> None:
    """A download button in ``where`` (``st`` or a column) whose file arrives on the first click.

    ``data``: the file (bytes or text), or a callable building it. Without ``basis`` a callable
    is built now, on every run (cheap files). With ``basis`` it is built when the member presses
    "Prepare" (with ``prepare=False``: now) and kept while ``basis`` is unchanged. A CodingError
    from the build is shown beside the button (nothing offered)."""
    if not callable(data):
        where.download_button(label, data, file_name=file_name, mime=mime, key=key, on_click="ignore",
                              icon=icon, help=help, disabled=disabled)
        return
    if basis is None:
        try:
            built = data() if not disabled else b""
        except CodingError as exc:
            where.button(label, key=f"{key}__refused", disabled=True, icon=icon, help=md_escape(str(exc)))
            where.caption(md_escape(f"Cannot build {file_name}: {exc}"))
            return
        where.download_button(label, built, file_name=file_name, mime=mime, key=key, on_click="ignore",
                              icon=icon, help=help, disabled=disabled)
        return
    fingerprint = _fingerprint(basis)
    held = S.get(f"{key}__file")
    if not prepare:
        if held is None or held[0] != fingerprint:
            _prepare(key, data, fingerprint)
            held = S.get(f"{key}__file")
        if held is None:
            where.button(label, key=f"{key}__refused", disabled=True, icon=icon)
            where.caption(md_escape(f"Cannot build {file_name}: {S.get(f'{key}__error', ('', ''))[1]}"))
            return
        where.download_button(label, held[1], file_name=file_name, mime=mime, key=key, on_click="ignore",
                              icon=icon, help=help, disabled=disabled)
        return
    if held is not None and held[0] == fingerprint and not disabled:
        _, built, when = held
        where.download_button(label, built, file_name=file_name, mime=mime, key=key, on_click="ignore",
                              icon=icon, type="primary",
                              help=(help + " " if help else "") + f"Prepared {when:%H:%M:%S} UTC, {_size(built)}; "
                              "prepare it again after new codings.")
        where.button("Prepare again", key=f"{key}__again", type="tertiary", icon=":material/refresh:",
                     on_click=_prepare, args=(key, data, fingerprint))
        return
    if held is not None and held[0] != fingerprint:
        S.pop(f"{key}__file", None)  # prepared for other choices: never offered
    where.button(f"Prepare {label.removeprefix('Download ')}", key=f"{key}__prepare", icon=":material/build:", disabled=disabled,
                 help=(help + " " if help else "") + "Builds the file; then a download button takes its place.",
                 on_click=_prepare, args=(key, data, fingerprint))
    err = S.get(f"{key}__error")
    if err is not None and err[0] == fingerprint:  # a refusal for other choices is not shown
        where.caption(md_escape(f"Cannot build {file_name}: {err[1]}"))
