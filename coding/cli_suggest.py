"""``python -m coding suggest ...``: processing cache and emergent themes."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Register the ``suggest`` command on the main parser's subparsers."""
    sp = sub.add_parser("suggest", help="spaCy suggestions: process documents, emergent themes")
    sp.add_argument("action", choices=["process", "themes"])
    sp.add_argument("name", help="project name")


from .cli import command  # noqa: E402  (cli imports this module while building its parser)


@command("suggest")
def cmd_suggest(store, args) -> int:
    from .errors import CodingError

    raise CodingError("suggest is not ready yet")
