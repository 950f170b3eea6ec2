"""The append-only event log: every change records who, what and when."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .store.models import Event


def log_event(
    s: Session,
    project_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None = None,
    **payload: Any,
) -> Event:
    """Append one event; ``payload`` holds what undo needs (the before/after state)."""
    ev = Event(
        project_id=project_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=json.dumps(payload, default=str, ensure_ascii=False, sort_keys=True),
    )
    s.add(ev)
    s.flush()
    return ev


def list_events(s: Session, project_id: str, *, limit: int = 200) -> list[Event]:
    """Most recent first."""
    return list(
        s.scalars(
            select(Event)
            .where(Event.project_id == project_id)
            .order_by(Event.seq.desc())
            .limit(limit)
        )
    )
