"""Agreement snapshots: saved with the codebook version, listed, and the trend across rounds."""

import json

import pytest
from sqlalchemy import select

from coding.agreement.project import compute_agreement
from coding.team.accounts import sign_in
from coding.codebook.tree import bump_version
from coding.errors import CodingError, NotFoundError, PermissionDeniedError
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.work.rounds import list_rounds
from coding.work.snapshots import get_snapshot, list_snapshots, save_snapshot, trend
from coding.store.models import AgreementSnapshot, Event


def _report(s, p, unit="character"):
    return compute_agreement(s, p, ["ana", "ben"], member=Member.of(get_member(s, p, "lead")), unit=unit, ci=False)


def test_snapshot_round_trip(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = sign_in(s, p, "lead")
        report = _report(s, p)
        rnd = list_rounds(s, p)[0]
        snap = save_snapshot(s, p, lead, report, label="  Round 1  ", round_id=rnd.id)
        snap_id = snap.id
    with demo_store.session() as s:
        p = get_project(s, "demo")
        row = s.get(AgreementSnapshot, snap_id)
        assert (row.label, row.unit, json.loads(row.coders), row.codebook_version, row.created_by) == (
            "Round 1", "character", ["ana", "ben"], p.codebook_version, "lead")
        assert get_snapshot(s, p, lead, snap_id) == json.loads(json.dumps(report.as_dict()))
        [listed] = list_snapshots(s, p, lead)
        overall = report.rows[-1]
        assert listed["round"] == "Round 1" and listed["coders"] == ["ana", "ben"]
        assert listed["alpha"] == pytest.approx(overall.alpha, abs=1e-6)
        assert listed["percent"] == pytest.approx(overall.percent, abs=1e-6)
        ev = s.scalars(select(Event).where(Event.action == "agreement.snapshot")).one()
        assert ev.actor == "lead" and ev.object_id == snap_id


def test_only_a_lead_saves_and_bad_references_are_refused(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        report = _report(s, p)
        with pytest.raises(PermissionDeniedError, match="only a lead"):
            save_snapshot(s, p, sign_in(s, p, "ana"), report)
        lead = sign_in(s, p, "lead")
        with pytest.raises(NotFoundError, match="no round"):
            save_snapshot(s, p, lead, report, round_id="nope")
        with pytest.raises(CodingError, match="over 200"):
            save_snapshot(s, p, lead, report, label="x" * 201)
        with pytest.raises(NotFoundError):
            get_snapshot(s, p, lead, "nope")
        assert list_snapshots(s, p, lead) == []


def test_trend_orders_snapshots_and_records_the_codebook_version(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = sign_in(s, p, "lead")
        first = _report(s, p)
        save_snapshot(s, p, lead, first, label="before revision")
        save_snapshot(s, p, lead, _report(s, p, "turn"), label="turns")
        bump_version(p)  # the codebook was revised
        s.flush()
        second = compute_agreement(s, p, ["ana", "ben"], member=lead, codes=["CIC Project/Results in students"],
                                   ci=False)
        save_snapshot(s, p, lead, second, label="after revision")
    with demo_store.session() as s:
        p = get_project(s, "demo")
        rows = trend(s, p, lead, unit="character")
        labels = list(dict.fromkeys(r["snapshot"] for r in rows))
        assert labels == ["before revision", "after revision"]
        assert [r["order"] for r in rows] == sorted(r["order"] for r in rows)
        overall = [r for r in rows if r["code"] == "(all codes)"]
        assert overall[1]["codebook_version"] == overall[0]["codebook_version"] + 1 == p.codebook_version
        assert overall[0]["alpha"] == pytest.approx(first.rows[-1].alpha, abs=1e-6)
        assert overall[1]["alpha"] == pytest.approx(second.rows[-1].alpha, abs=1e-6)
        assert len(rows) == len(first.rows) + len(second.rows)
        assert {r["unit"] for r in trend(s, p, lead)} == {"character", "turn"}
        assert [x["label"] for x in list_snapshots(s, p, lead)] == ["before revision", "turns", "after revision"]
        assert trend(s, p, lead, unit="sentence") == []


def test_unlabelled_snapshot_is_named_by_its_time(demo_store):
    with demo_store.session() as s:
        p = get_project(s, "demo")
        lead = sign_in(s, p, "lead")
        save_snapshot(s, p, lead, _report(s, p, "segment"))
        [listed] = list_snapshots(s, p, lead)
        assert listed["label"][:2] == "20" and listed["alpha"] is None  # segments: no alpha
