"""Project agreement: stored codings -> units -> coefficients, checked against brute force."""

import math

import numpy as np
import pytest
from sqlalchemy import select

from coding.agreement.coefficients import krippendorff_alpha
from coding.agreement.project import compute_agreement, verdict
from coding.errors import AgreementError
from coding.projects import Member, get_member, get_project
from coding.store.models import Coding, Document


def _lead(s, p) -> Member:
    return Member.of(get_member(s, p, "lead"))


def test_character_tables_match_a_per_character_count(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        report = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), ci=False)
        ana, ben = get_member(s, p, "ana").id, get_member(s, p, "ben").id
        docs = {d.id: d for d in s.scalars(select(Document).where(Document.name.in_(report.options["documents"])))}
        rows = s.execute(select(Coding.code_id, Coding.document_id, Coding.coder_id, Coding.start, Coding.end)
                         .where(Coding.document_id.in_(docs))).all()
    for row in report.rows[:-1]:
        a_total = np.zeros(4, dtype=int)
        cells = []
        for doc in docs.values():
            marks = {ana: np.zeros(doc.length, bool), ben: np.zeros(doc.length, bool)}
            for code_id, doc_id, coder, start, end in rows:
                if code_id == row.code_id and doc_id == doc.id:
                    marks[coder][start:end] = True
            a, b = marks[ana], marks[ben]
            a_total += [(a & b).sum(), (a & ~b).sum(), (~a & b).sum(), (~a & ~b).sum()]
            cells.append(np.vstack([a, b]).astype(float))
        assert row.extra["table"] == a_total.tolist()
        alpha = krippendorff_alpha(np.hstack(cells)).value
        assert math.isclose(row.alpha, alpha, abs_tol=1e-9)
    assert report.rows[-1].code == "(all codes)"
    assert report.rows[-1].n_units == sum(d.length for d in docs.values()) * (len(report.rows) - 1)


def test_turn_units_more_coders_and_degenerate_input(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        rep = compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), unit="turn",
                                documents=["P01_principal_School-I_3"], ci=False)
        assert all(r.n_units == rep.rows[0].n_units for r in rep.rows[:-1])
        assert 0 < rep.rows[0].n_units < 100  # turns of one interview
        # a third coder who coded nothing: a multi-coder path, defined or NaN with a reason, never a crash
        rep3 = compute_agreement(s, p, ["ana", "ben", "lead"], member=_lead(s, p), unit="turn",
                                 documents=["P01_principal_School-I_3"], ci=False)
        assert "fleiss_kappa" not in rep3.rows[-1].extra  # it is the kappa column
        assert not math.isnan(rep3.rows[-1].kappa)
        with pytest.raises(AgreementError, match="no document has codings by all"):
            compute_agreement(s, p, ["ana", "ben", "lead"], member=_lead(s, p))
        with pytest.raises(AgreementError, match="unit 'word' is unknown"):
            compute_agreement(s, p, ["ana", "ben"], member=_lead(s, p), unit="word")


def test_verdict_thresholds():
    """Krippendorff (2004, p. 241): alpha >= .800 reliable; .667 <= alpha < .800 tentative."""
    assert verdict(0.800) == "reliable" and verdict(0.7999) == "tentative"
    assert verdict(0.667) == "tentative" and verdict(0.666) == "unreliable"
    assert verdict(float("nan")) == "undefined"
