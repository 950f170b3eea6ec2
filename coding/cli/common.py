"""What every command shares: the command registry, JSON output, passwords asked once
(environment or prompt), and the acting member of a project (``--as``, ``--token``)."""

from __future__ import annotations
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from coding.errors import CodingError

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by the commands that open one
    from coding.store import Store


COMMANDS: dict[str, Callable] = {}


STORELESS = {"reliability", "migrate"}  # commands that open no Store (migrate opens its own engine)


def command(name: str):
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def secret(env: str, prompt: str, *, fallback_env: str | None = None, confirm: bool = False) -> str:
    """A password from ``env`` (or ``fallback_env``), else typed at a terminal prompt."""
    value = os.environ.get(env) or (os.environ.get(fallback_env) if fallback_env else None)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CodingError(f"a password is needed and there is no terminal to ask it on: set {env}"
                          + (" (or use --token TOKEN from `login`)" if env == "CODING_PASSWORD" else ""))
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != value:
        raise CodingError("the two passwords differ: run the command again")
    return value


def asked(args, key: str, ask: Callable[[], str]) -> str:
    """``ask()``'s answer, asked once per command: a transaction that is re-run on a clash
    with other writers (``Store.run``) does not prompt again."""
    answers = vars(args).setdefault("_answers", {})
    if key not in answers:
        answers[key] = ask()
    return answers[key]


def acting(s, project, args):
    """The member the command acts as: by token, or ``--as NAME`` signed in with a
    password (none for a member without one in local mode)."""
    from coding.team.accounts import sign_in
    from coding.team.sessions import resume_session
    from coding.team.members import members

    token = args.token or os.environ.get("CODING_TOKEN")
    if token:
        member, _ = resume_session(s, token)
        if member.project_id != project.id:
            raise CodingError(f"the token is for another project than {project.name!r}: use that project's token")
        if args.as_name and args.as_name != member.name:
            raise CodingError(f"the token is {member.name!r}'s, not {args.as_name!r}'s: drop --as or the token")
        return member
    name = args.as_name or os.environ.get("CODING_AS")
    if not name and project.local_mode:
        leads = [c for c in members(s, project, active_only=True) if c.role == "lead"]
        if len(leads) == 1:
            name = leads[0].name
    if not name:
        raise CodingError(f"say who you are in {project.name!r}: --as NAME (or CODING_AS), or --token TOKEN")
    coder = next((c for c in members(s, project) if c.name == name), None)
    password = None
    if coder is None or coder.password_hash is not None or not project.local_mode:
        password = asked(args, "password",
                          lambda: secret("CODING_PASSWORD", f"Password for {name} in {project.name}: "))
    member = sign_in(s, project, name, password, source="cli")
    args.signed_in_with = password  # passwd needs it again as the current password
    return member


def project_and_member(s, args):
    from coding.team.projects import get_project

    project = get_project(s, args.name)
    return project, acting(s, project, args)


def signed_in(store: Store, args):
    """(project, member) for a command that then only reads. Signing in writes (it records
    the attempt, and notes a token's use), so it runs in a short transaction of its own,
    re-run on a clash; the reads follow in a read session beside the writers."""
    return store.run(lambda s: project_and_member(s, args))
