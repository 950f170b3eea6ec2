"""Fixtures for suggestion tests: the demo with every document processed.

The demo documents are parsed once per test session (into a throw-away SQLite demo);
each test then copies those cache rows into its own demo database (the cache is keyed
by text hash and pipeline, so that is exactly what a processed project holds).
Import the fixtures into a test module: ``from tests.processed_demo import processed, processed_rows``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coding.suggest.processing import process_documents
from coding.team.projects import get_project
from coding.team.members import Member, get_member
from coding.store import Store
from coding.store.models import NlpCache


def who(s, name: str):
    """(the demo project, the member called ``name``)."""
    p = get_project(s, "demo")
    return p, Member.of(get_member(s, p, name))


@pytest.fixture(scope="session")
def processed_rows(tmp_path_factory) -> list[tuple[str, str, str]]:
    from coding.demo import build_demo

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('processed') / 'demo.db'}")
    try:
        with store.session() as s:
            build_demo(s)
            _, lead = who(s, "lead")
        process_documents(store, "demo", lead)
        with store.session() as s:
            return [(r.sha256, r.pipeline, r.data) for r in s.scalars(select(NlpCache))]
    finally:
        store.dispose()


@pytest.fixture
def processed(demo_store, processed_rows):
    """The demo store with every document processed (cache rows copied in)."""
    with demo_store.session() as s:
        s.add_all(NlpCache(sha256=a, pipeline=b, data=c) for a, b, c in processed_rows)
    return demo_store
