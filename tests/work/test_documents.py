"""Importing transcripts into a project: good files land, bad ones are reported, nothing half-stored."""

import io

import docx
import pytest
from sqlalchemy import func, select

from coding.work.documents import document_summary, import_files, import_uploads, list_documents
from coding.errors import CodingError
from coding.team.projects import create_project
from coding.team.members import Member, get_member
from coding.store.models import Document, Event, SpeakerTurn


@pytest.fixture
def project(store):
    with store.session() as s:
        return create_project(s, "study", lead_name="lead", local_mode=True)


@pytest.fixture
def lead(store, project) -> Member:
    """The acting member of every import here (opened before the test's own session)."""
    with store.session() as s:
        return Member.of(get_member(s, s.merge(project), "lead"))


def _docx_bytes(paragraphs):
    buf = io.BytesIO()
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(buf)
    return buf.getvalue()


def test_one_broken_file_among_good_ones(store, project, lead, tmp_path):
    (tmp_path / "a.txt").write_text("Interviewer: ¿Cómo le fue?\n\nDocente: Bien, señora.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes("Interviewer: Año\r\nP3: Sí\r\n".encode("cp1252"))
    (tmp_path / "c.docx").write_bytes(b"this is not a zip")
    (tmp_path / "d.txt").write_bytes(b"")
    (tmp_path / "e.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "f.docx").write_bytes(_docx_bytes(["Interviewer: Hello", "Principal: Hi there"]))
    (tmp_path / "g.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nKelly: hi\n", encoding="utf-8")
    with store.session() as s:
        p = s.merge(project)
        rep = import_files(s, p, [tmp_path], language="es", actor=lead)
    assert sorted(rep.imported) == ["a", "b", "f", "g"]
    assert rep.encodings == {"a": "utf-8", "b": "cp1252", "f": "docx", "g": "utf-8"}
    assert len(rep.failed) == 3
    for name, words in [("c.docx", "not a valid .docx"), ("d.txt", "empty"), ("e.txt", "binary")]:
        msg = next(m for m in rep.failed if name in m)
        assert words in msg and "\n" not in msg
    with store.session() as s:
        docs = {d.name: d for d in list_documents(s, s.merge(project))}
        b = docs["b"]
        assert b.text == "Interviewer: Año\nP3: Sí\n"
        assert [(t.speaker, b.text[t.speech_start:t.end]) for t in b.turns] == [("Interviewer", "Año"), ("P3", "Sí")]
        assert document_summary(docs["f"])["speakers"] == [{"speaker": "Interviewer", "turns": 1},
                                                            {"speaker": "Principal", "turns": 1}]
        assert all(d.language == "es" for d in docs.values())
        # failed files left nothing behind: no orphan turns, one import event per stored file
        assert s.scalar(select(func.count()).select_from(Document)) == 4
        assert s.scalar(select(func.count()).where(Event.action == "document.import")) == 4
        assert s.scalar(select(func.count()).select_from(SpeakerTurn)) == sum(len(d.turns) for d in docs.values())


def test_same_name_twice_is_refused_and_text_is_stored_exactly(store, project, lead):
    with store.session() as s:
        p = s.merge(project)
        rep = import_uploads(s, p, [("x.txt", "\ufeffline one\r\nline two\r".encode("utf-8"))], actor=lead)
        assert rep.imported == ["x"]
        rep2 = import_uploads(s, p, [("x.txt", b"other")], actor=lead)
        assert rep2.imported == [] and "already in 'study'" in rep2.failed[0]
        doc = list_documents(s, p)[0]
        assert doc.text == "line one\nline two\n"
        import hashlib
        assert doc.sha256 == hashlib.sha256(doc.text.encode()).hexdigest()


def test_attributes_csv(store, project, lead, tmp_path):
    (tmp_path / "P1.txt").write_text("Interviewer: hi\nPrincipal: hello\n")
    (tmp_path / "P2.txt").write_text("Interviewer: hi\nTeacher: hello\n")
    csv = tmp_path / "attrs.csv"
    csv.write_text("document,role,school\nP1,Principal,School II_4\nP2,Teacher,School I_3\nP9,Ghost,none\n")
    with store.session() as s:
        rep = import_files(s, s.merge(project), [tmp_path / "P1.txt", tmp_path / "P2.txt"], attributes_csv=csv,
                           actor=lead)
        assert rep.attributes == 4
        assert rep.warnings and "line 4" in rep.warnings[0] and "P9" in rep.warnings[0]
        docs = {d.name: document_summary(d) for d in list_documents(s, s.merge(project))}
    assert docs["P1"]["attributes"] == {"role": "Principal", "school": "School II_4"}


@pytest.mark.parametrize("content, message", [
    ("document,role\nP1,a,b\n", "line 2: has 3 cells, the header has 2"),
    ("document,role\nP1,a\nP1,b\n", "line 3: document 'P1' already given on line 2"),
    ("document,,x\nP1,a,b\n", "line 1: header"),
    ("document,role,Role\nP1,a,b\n", "column 'role' appears twice"),
    ("document,role\n", "has no data rows"),
])
def test_bad_attributes_csv_stores_nothing(store, project, lead, tmp_path, content, message):
    (tmp_path / "P1.txt").write_text("Interviewer: hi\n")
    csv = tmp_path / "attrs.csv"
    csv.write_text(content)
    with store.session() as s:
        rep = import_files(s, s.merge(project), [tmp_path / "P1.txt"], attributes_csv=csv, actor=lead)
        assert rep.imported == ["P1"]
        assert len(rep.failed) == 1 and message in rep.failed[0] and "attrs.csv" in rep.failed[0]
        assert list_documents(s, s.merge(project))[0].attributes == []


def test_unknown_language_and_missing_paths(store, project, lead, tmp_path):
    with store.session() as s, pytest.raises(CodingError, match="not an ISO 639 code"):
        import_files(s, s.merge(project), [tmp_path], language="english", actor=lead)
    with store.session() as s:
        rep = import_files(s, s.merge(project), [tmp_path / "nope.txt"], actor=lead)
        assert "nope.txt: no such file" in rep.failed[0]


def test_size_limit(store, project, lead, tmp_path, monkeypatch):
    from coding.importing import limits
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    (tmp_path / "big.txt").write_text("x" * 300)
    with store.session() as s:
        rep = import_files(s, s.merge(project), [tmp_path / "big.txt"], actor=lead)
    assert "over the" in rep.failed[0] and "Split the transcript" in rep.failed[0]


def test_an_import_is_one_transaction_with_the_caller(store, project, lead):
    """Savepoints per file must not commit on their own (pysqlite's default would)."""
    with store.session() as s:
        p = s.merge(project)
        rep = import_uploads(s, p, [("a.txt", b"Interviewer: hi\n"), ("b.txt", b""), ("c.txt", b"P1: yo\n")],
                             actor=lead)
        assert rep.imported == ["a", "c"] and len(rep.failed) == 1
        s.rollback()
    with store.session() as s:
        assert list_documents(s, s.merge(project)) == []
