"""The Agreement page's Markdown download in a real Chromium, on harbour: the file a lead
gets is `export agreement --format md`'s (overall, per-code and per-document tables), byte
for byte the engine's for the page's default choice, but for the minute it was stamped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coding.exporting.agreement_export import export_agreement
from tests.exporting.test_coded_exports import CODINGS, _code

from .coding_helpers import open_page, settle
from .conftest import run_streamlit
from .test_export_kinds_browser import _download, _sign_in

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


def test_the_agreement_markdown_download_has_all_three_tables(browser, team):
    with team.store.session() as s:
        for c in CODINGS:
            _code(s, team.project(s), *c)
    url = team.store.engine.url.render_as_string(hide_password=False)
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx, page = _sign_in(browser, app_url, team, "maria")
        open_page(page, "Agreement", "agreement_page")
        page.get_by_text("Per code").first.wait_for(timeout=120_000)
        settle(page, timeout=120_000)
        got = _download(page, "Download Markdown").decode()
        ctx.close()
    for heading in ("## Overall", "## Per code", "## Per document"):
        assert heading in got
    coders = re.search(r"\*\*Coders:\*\* (.+?)  \n", got).group(1).split(", ")
    stamp = re.search(r"\*\*Computed:\*\* (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", got).group(1)
    with team.store.session() as s:
        engine = export_agreement(s, team.project(s), team.member(s, "maria"), "md", coders=coders,
                                  when=datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=UTC))
    assert got == engine.data.decode()
