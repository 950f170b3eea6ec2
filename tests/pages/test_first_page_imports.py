"""Start-up of the app (issue 19, item 3): the first page a cold start draws (the Project
page before sign-in) imports only what it needs. In a fresh interpreter: ``app.py`` as the
server imports it (``st.App``), then the page as Streamlit runs it (AppTest), on the
protected project ``harbour``: no spaCy, scikit-learn, Alembic, pandas (nor what pandas
brings: NumPy, pyarrow), and none of the exchange formats' libraries. Signed in, the same
page still shows the documents table as stored, pandas loaded then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from coding.work.documents import list_documents
from tests.conftest import TEAM

REPO = Path(__file__).resolve().parents[2]
# Not needed before sign-in; the first three cost most of a second of CPU to import.
HEAVY = ("pandas", "numpy", "pyarrow", "spacy", "sklearn", "scipy", "alembic", "altair",
         "docx", "openpyxl", "xmlschema")

_SCRIPT = """
import json, sys
import app  # what `streamlit run app.py` imports first: the module form (st.App, its routes)
from streamlit.testing.v1 import AppTest

heavy, project, repo = json.loads(sys.argv[1])
loaded = lambda: [m for m in heavy if m in sys.modules]

at = AppTest.from_file(repo + "/app.py", default_timeout=120)
at.session_state["project"] = project
at.run()
first = {"exception": [str(e.value) for e in at.exception], "info": [e.value for e in at.info],
         "titles": [e.value for e in at.title], "loaded": loaded()}

from coding.store import shared_store
from coding.team.members import Member, get_member
from coding.team.projects import get_project
from coding.team.sessions import open_session
import os

with shared_store(os.environ["CODING_DB_URL"]).session() as s:
    at.session_state["auth_session"] = open_session(
        s, Member.of(get_member(s, get_project(s, project), "maria"))).id
at.run()
docs = at.dataframe[0].value if at.dataframe else None
signed_in = {"exception": [str(e.value) for e in at.exception],
             "documents": [] if docs is None else sorted(docs["document"]), "loaded": loaded()}
print(json.dumps({"first": first, "signed_in": signed_in}))
"""


def test_first_page_before_sign_in_imports_no_pandas_nlp_or_alembic(team):
    url = team.store.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "CODING_DB_URL": url, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps([HEAVY, TEAM, str(REPO)])], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])

    first = got["first"]
    assert first["exception"] == []
    assert first["titles"] == ["Project"]
    assert any("Sign in from the sidebar" in i for i in first["info"])  # the page every cold start shows
    assert first["loaded"] == []

    signed_in = got["signed_in"]
    assert signed_in["exception"] == []
    with team.store.session() as s:
        stored = sorted(d.name for d in list_documents(s, team.project(s)))
    assert stored == ["Clerk_01", "Docker_01", "Docker_02"]
    assert signed_in["documents"] == stored  # the table past sign-in, as stored
    assert "pandas" in signed_in["loaded"]  # imported there, where the tables are drawn
    assert not {"spacy", "sklearn", "alembic"} & set(signed_in["loaded"])
