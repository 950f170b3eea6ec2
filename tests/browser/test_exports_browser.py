"""Downloads from the Retrieve page in a real Chromium (issue 10): the quote bank DOCX and
the excerpts CSV arrive as files whose quotes are the stored text between the offsets,
and a hostile code name starting with "=" is neutralised in the CSV."""

from __future__ import annotations

import csv
import io
import re

import docx
import pytest
from sqlalchemy import select

from coding.codebook.tree import code_tree
from coding.codebook.edits import add_code
from coding.work.codings import apply_codes
from coding.work.documents import get_document
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import Coder, Coding, Document

from .download_helpers import download
from .coding_helpers import demo_app, open_page, settle, sign_in_local

pytestmark = pytest.mark.browser

HOSTILE = '=HYPERLINK("evil.example","click")+cmd'


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    def hostile_code(s, p):
        lead = Member.of(get_member(s, p, "lead"))
        code = add_code(s, p, lead, None, HOSTILE)
        doc = get_document(s, p, "P01_principal_School-I_3")
        start = doc.text.index("I walked in once")
        apply_codes(s, p, lead, doc, [code.id], start, start + 80)

    with demo_app(tmp_path_factory.mktemp("exports") / "demo.db", hostile_code) as served:
        yield served


def _stored(store: Store) -> dict[tuple[str, int, int, str], str]:
    """Every coder-layer coding as (document, start, end, coder) -> the stored text slice."""
    with store.session() as s:
        names = dict(s.execute(select(Coder.id, Coder.name)).all())
        rows = s.execute(select(Document.name, Document.text, Coding.start, Coding.end, Coding.coder_id)
                         .join(Document, Document.id == Coding.document_id)
                         .where(Coding.layer == "coder")).all()
    return {(d, a, b, names[c]): t[a:b] for d, t, a, b, c in rows}


def _download(page, label: str) -> bytes:
    return download(page, label)  # prepared first where the page asks (app_pages/downloads.py)


def test_quote_bank_and_excerpts_csv_download_with_the_stored_quotes(browser, demo):
    store, url = demo
    stored = _stored(store)
    with store.session() as s:
        tree = code_tree(s, get_project(s, "demo"))
        names = {i.name for i in tree.infos}
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = ctx.new_page()
    sign_in_local(page, url, "lead")
    open_page(page, "Retrieve", "retrieve_page")
    page.get_by_role("tab", name="Export").wait_for(timeout=60_000)
    settle(page, timeout=60_000)
    page.get_by_role("tab", name="Export").click()

    # Quote bank, every coder's coding apart (the default merges overlapping ones, issue 16):
    # each block quote is a stored slice followed by its attribution.
    page.get_by_text("One quote per coder and coding").click()
    settle(page, timeout=60_000)
    bank = docx.Document(io.BytesIO(_download(page, "Quote bank (DOCX)")))
    slices = set(stored.values())
    quotes = [par.text for par in bank.paragraphs if par.style.name == "Quote"]
    assert len(quotes) == len(stored)
    for q in quotes:
        m = re.fullmatch(r"(?s)(.*) (\([^()]*\))", q)
        assert m and m.group(1) in slices and m.group(2).startswith("("), q
    headings = [par.text for par in bank.paragraphs if par.style.name.startswith("Heading")]
    assert HOSTILE in headings and set(headings) <= names

    # Excerpts CSV: same quotes at the same offsets; the hostile code name is inert.
    data = _download(page, "Excerpts (CSV)").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == len(stored)
    for r in rows:
        want = stored[r["document"], int(r["start"]), int(r["end"]), r["coder"]]
        assert r["text"] == (("'" + want) if want.startswith(("=", "+", "-", "@", "\t", "\r")) else want)
    hostile = [r for r in rows if r["level 1"] == "'" + HOSTILE]
    assert len(hostile) == 1 and hostile[0]["code"] == "'" + HOSTILE
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    ctx.close()
