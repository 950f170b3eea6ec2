"""Downloads of the Exports page and the Agreement page's Excel file in a real Chromium
(issue 16, items 7 and 8), on harbour with codings tom and li made in a blind round:
the lead's files hold every coding (0/1 columns summing to the stored codings, comments
on the coded text, agreement figures equal to the engine's); tom, a coder while the round
is open, downloads only his own."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections import Counter
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select

from coding.agreement.project import compute_agreement
from coding.codebook.tree import code_tree
from coding.store.models import Coder, Coding, Document
from coding.work.rounds import assign, open_round
from tests.exporting.test_coded_exports import CODINGS, _code

from .download_helpers import download
from .coding_helpers import choose, open_page, settle, signed_in
from .conftest import run_streamlit

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


def _prepare(team) -> Counter:
    with team.store.session() as s:
        p, maria = team.project(s), team.member(s, "maria")
        rnd = open_round(s, p, maria, "Round 1", blind=True)
        docs = list(s.scalars(select(Document).where(Document.project_id == p.id)))
        coders = list(s.scalars(select(Coder).where(Coder.project_id == p.id, Coder.name.in_(["tom", "li"]))))
        assign(s, p, maria, rnd, docs, coders)
        for c in CODINGS:
            _code(s, p, *c)
        tree = code_tree(s, p)
        names = dict(s.execute(select(Coder.id, Coder.name)).all())
        return Counter((names[c.coder_id], tree.info[c.code_id].path)
                       for c in s.scalars(select(Coding).where(Coding.project_id == p.id)))


def _sign_in(browser, app_url: str, team, who: str):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(app_url)
    page.locator(".st-key-common_project input").wait_for(timeout=60_000)
    choose(page, "common_project", team.name)
    page.locator(".st-key-common_name input").wait_for(timeout=30_000)
    page.locator(".st-key-common_name input").fill(who)
    page.locator(".st-key-common_pw input").fill(team.passwords[who])
    page.get_by_role("button", name="Sign in").click()
    signed_in(page, timeout=60_000)
    return ctx, page


def _download(page, label: str) -> bytes:
    return download(page, label)  # prepared first where the page asks (app_pages/downloads.py)


def test_exports_and_agreement_excel_download_in_chromium(browser, team):
    stored = _prepare(team)
    url = team.store.engine.url.render_as_string(hide_password=False)
    with run_streamlit(REPO / "app.py", env={"CODING_DB_URL": url}) as app_url:
        ctx, page = _sign_in(browser, app_url, team, "maria")
        open_page(page, "Exports", "exports_page")
        page.get_by_text("Segment table", exact=True).wait_for(timeout=60_000)
        settle(page, timeout=60_000)

        rows = list(csv.DictReader(io.StringIO(_download(page, "Segment table (CSV)").decode("utf-8-sig"))))
        by_code = Counter()
        for (_, path), n in stored.items():
            by_code[path] += n
        for path, n in by_code.items():
            assert sum(int(r[path]) for r in rows) == n
        assert {r["coder"] for r in rows} == {"tom", "li"}
        sheet = openpyxl.load_workbook(io.BytesIO(_download(page, "Segment table (XLSX)")))
        assert sheet.sheetnames == ["Segments", "About"]
        grid = list(openpyxl.load_workbook(io.BytesIO(_download(page, "Framework matrix (XLSX)")))["Framework"]
                    .iter_rows(values_only=True))
        assert [r[0] for r in grid[1:]] == ["Clerk_01", "Docker_01", "Docker_02"]
        assert "Wives kept the houses going. [li]" in str(grid)
        framework = docx.Document(io.BytesIO(_download(page, "Framework matrix (DOCX)")))
        assert len(framework.tables) == 3
        assert _download(page, "Framework matrix (CSV)").startswith(b"\xef\xbb\xbfdocument,")
        coded = _download(page, "Coded documents (DOCX)")
        assert sum(1 for _ in docx.Document(io.BytesIO(coded)).comments) == sum(stored.values())
        assert b"commentRangeStart" in zipfile.ZipFile(io.BytesIO(coded)).read("word/document.xml")

        open_page(page, "Agreement", "agreement_page")
        page.get_by_text("Per code").first.wait_for(timeout=120_000)
        settle(page, timeout=120_000)
        wb = openpyxl.load_workbook(io.BytesIO(_download(page, "Download Excel (all tables)")))
        assert wb.sheetnames == ["Overall", "Per code", "Per document", "About"]
        with team.store.session(write=False) as s:
            rep = compute_agreement(s, team.project(s), ["tom", "li"], member=team.member(s, "maria"))
        got = list(wb["Per code"].iter_rows(values_only=True))[1:]
        assert [(g[0], g[2]) for g in got] == [(r.code, r.n_units) for r in rep.rows]
        for g, r in zip(got, rep.rows):
            assert (g[6] is None and math.isnan(r.kappa)) or math.isclose(g[6], r.kappa, rel_tol=1e-12)
        ctx.close()

        # tom, a coder while the round is open: only his own codings in his files
        ctx, page = _sign_in(browser, app_url, team, "tom")
        open_page(page, "Exports", "exports_page")
        page.get_by_text("A blind round is open").wait_for(timeout=60_000)
        settle(page, timeout=60_000)
        rows = list(csv.DictReader(io.StringIO(_download(page, "Segment table (CSV)").decode("utf-8-sig"))))
        assert {r["coder"] for r in rows} == {"tom"}
        assert sum(int(r[p]) for r in rows for p in by_code) == sum(n for (c, _), n in stored.items() if c == "tom")
        coded = docx.Document(io.BytesIO(_download(page, "Coded documents (DOCX)")))
        assert {c.author for c in coded.comments} == {"tom"}
        ctx.close()
