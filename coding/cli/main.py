"""``python -m coding``: a thin, scriptable shell over the engine.

Every command that touches a project acts as a named member (``--as NAME``), and
the engine records that member in the event log. A protected project asks for
the member's password (``CODING_PASSWORD``, else a prompt on a terminal) or takes
a session token (``--token`` or ``CODING_TOKEN``, from ``login``). In local
single-user mode a member without a password needs none, and ``--as`` defaults
to the project's only lead.

Exit status: 0 success, 1 bad input (one line on stderr), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import sys

from coding import __version__
from coding.errors import CodingError
from coding.cli.common import COMMANDS, STORELESS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m coding",
        description="Qualitative interview coding workbench: projects, transcripts, codebooks, agreement.",
        epilog="Database: --db URL, else $CODING_DB_URL, else data/coding.db (SQLite). "
               "Exit status: 0 success, 1 bad input, 2 wrong usage.",
    )
    p.add_argument("--db", metavar="URL", help="database URL: sqlite:///PATH or postgresql://USER:PW@HOST/DB")
    p.add_argument("--as", dest="as_name", metavar="NAME",
                   help="act as this member (else $CODING_AS; in local mode the project's only lead); the password "
                        "comes from $CODING_PASSWORD or a prompt")
    p.add_argument("--token", metavar="TOKEN", help="a session token from `login` (else $CODING_TOKEN)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("init", help="create an empty project with its lead",
                        description="Protected (the default): the lead's password comes from $CODING_NEW_PASSWORD "
                                    "(or $CODING_PASSWORD) or a prompt. --local: single-user mode on this computer, "
                                    "no passwords, served by the app on 127.0.0.1 only.")
    sp.add_argument("name", help="project name")
    sp.add_argument("--lead", metavar="NAME", help="the lead's name (default: --as)")
    sp.add_argument("--local", action="store_true", help="local single-user mode: no passwords, this computer only")

    sp = sub.add_parser("passwd", help="change your password (--as NAME)",
                        description="Current password from $CODING_PASSWORD or a prompt; the new one from "
                                    "$CODING_NEW_PASSWORD or a prompt. Your other sessions end.")
    sp.add_argument("name", help="project name")

    sp = sub.add_parser("login", help="print a session token for --token / $CODING_TOKEN",
                        description="Signs in once (password from $CODING_PASSWORD or a prompt) and prints a token "
                                    "that later commands take instead of the password, until it expires or `logout`.")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sub.add_parser("logout", help="end the session of --token / $CODING_TOKEN")

    sp = sub.add_parser("member", help="list, add, re-role or remove members, reset a password (leads)",
                        description="Temporary passwords come from $CODING_NEW_PASSWORD or a prompt; the member "
                                    "chooses their own at the first sign-in. The last lead cannot be removed or "
                                    "made a coder.")
    sp.add_argument("action", choices=["list", "add", "role", "remove", "reset-password"])
    sp.add_argument("name", help="project name")
    sp.add_argument("member", nargs="?", help="the member's name (all actions but list)")
    sp.add_argument("--role", choices=["lead", "coder"], help="add: the role (default coder); role: the new role")
    sp.add_argument("--no-password", action="store_true", help="add, in local mode: no password")
    sp.add_argument("--json", action="store_true", help="list: stable JSON output")

    sp = sub.add_parser("local-mode", help="turn local single-user mode on or off (leads)",
                        description="off protects the project: every member signs in with a password (set yours "
                                    "first with passwd). on: no passwords, served on 127.0.0.1 only.")
    sp.add_argument("name", help="project name")
    sp.add_argument("state", choices=["on", "off"])

    sp = sub.add_parser("import", help="import transcripts (.txt .md .docx .vtt .srt; files or folders)")
    sp.add_argument("name", help="project name")
    sp.add_argument("paths", nargs="+", metavar="PATH", help="transcript files or folders")
    sp.add_argument("--attributes", metavar="CSV", help="participant attributes: document name, then any columns")
    sp.add_argument("--language", default="en", metavar="CODE", help="ISO 639 language of the transcripts (default en)")
    sp.add_argument("--speaker-pattern", metavar="REGEX",
                    help="regular expression for a turn's start at a line start, with a named group (?P<speaker>...)")
    sp.add_argument("--json", action="store_true", help="machine-readable report")

    sp = sub.add_parser("codebook", help="import or export a YAML codebook")
    sp.add_argument("action", choices=["import", "export"])
    sp.add_argument("name", help="project name")
    sp.add_argument("file", help="YAML codebook file")

    sp = sub.add_parser("demo", help="build the demo project from corpora/ and codebooks/ (idempotent)",
                        description="By default in local single-user mode (members lead, ana, ben sign in by name; "
                                    "the app serves it on 127.0.0.1 only). --protected: every member gets the password "
                                    "from $CODING_NEW_PASSWORD (or $CODING_PASSWORD) or a prompt.")
    sp.add_argument("--protected", action="store_true", help="give every demo member a password")
    sp.add_argument("--no-process", action="store_true",
                    help="do not parse the documents for suggestions now (about 20 s the first time)")

    sp = sub.add_parser("migrate", help="bring the database schema up to date (PostgreSQL: only this does)",
                        description="SQLite files are also migrated when opened, after a backup beside the file. "
                                    "A PostgreSQL database is never migrated by the app or other commands: back it "
                                    "up (pg_dump), run this once, then start the app instances.")
    sp.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                    help="database URL (as the global --db; else $CODING_DB_URL, else the default SQLite file)")

    sp = sub.add_parser("documents", help="list documents with language, length, attributes, speakers")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("codes", help="show the codebook tree with each code's path")
    sp.add_argument("name", help="project name")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("reliability", help="agreement calculator for any reliability data in a CSV",
                        description="Rows are units, the header names the coders, an empty cell is missing. "
                                    "Prints every coefficient that applies, with n.")
    sp.add_argument("file", metavar="FILE.csv")
    sp.add_argument("--level", default="nominal", choices=["nominal", "ordinal", "interval", "ratio"],
                    help="level of measurement for Krippendorff's alpha (nominal alpha is always shown)")
    sp.add_argument("--ci", action="store_true", help="add bootstrap 95%% intervals to kappa and alpha")
    sp.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    sp.add_argument("--json", action="store_true", help="stable JSON output")

    sp = sub.add_parser("agreement", help="inter-coder agreement per code, per document and overall",
                        description="Units: character (as NVivo), sentence (spaCy, stored), speaker turn, "
                                    "or matched segments (as MAXQDA). Documents: those every coder coded, "
                                    "unless --document is given.")
    sp.add_argument("name", help="project name")
    sp.add_argument("--coders", nargs="+", required=True, metavar="CODER", help="two or more coders")
    sp.add_argument("--unit", default="character", choices=["character", "sentence", "turn", "segment"])
    sp.add_argument("--code", action="append", metavar="PATH", help="only this code path (repeatable)")
    sp.add_argument("--document", action="append", metavar="NAME", help="only this document (repeatable)")
    sp.add_argument("--min-share", type=float, default=0.0, metavar="X",
                    help="sentence/turn units: share of the unit a coder's spans must cover (default: any overlap)")
    sp.add_argument("--min-overlap", type=float, default=0.9, metavar="X",
                    help="segment unit: overlap / union two segments need to match (default 0.9)")
    sp.add_argument("--rollup", action="store_true", help="count codings of descendants for their parent too")
    sp.add_argument("--no-ci", action="store_true", help="skip bootstrap intervals")
    sp.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    sp.add_argument("--suggestions", choices=["include", "exclude", "only"],
                    help="codings made from accepted suggestions: count them like the others (default), "
                         "leave them out (default with --recommender), or count only them")
    sp.add_argument("--recommender", action="store_true",
                    help="measure the code recommender as a third coder: per coder, a model of their own "
                         "codings codes held-out documents (grouped cross-validation), compared with each "
                         "coder; the documents must be processed (`suggest process`). Leads only")
    sp.add_argument("--folds", type=int, default=5, metavar="K",
                    help="--recommender: groups of documents held out in turn (default 5, at most one per document)")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="stable JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV table per code")
    fmt.add_argument("--md", action="store_true", help="Markdown table (for a methods section)")
    fmt.add_argument("--docx", metavar="OUT", help="write a Word report: the method sentence (unit, coefficients, "
                                                  "coders, n) and the table per code")

    from coding.cli import agreement, project  # noqa: F401  their @command functions register themselves
    from coding.cli.suggest import add_parser as add_suggest  # registers the `suggest` command
    add_suggest(sub)
    from coding.cli.export import add_export_parsers  # registers `excerpts` and `export` (issue 10)
    add_export_parsers(sub)
    from coding.cli.refi import add_parsers as add_refi_parsers  # registers `refi` (issue 11)
    add_refi_parsers(sub)
    from coding.cli.report import add_parser as add_report  # registers `report` (issue 20)
    add_report(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "member" and args.action != "list" and not args.member:
        parser.error(f"member {args.action} needs the member's name: member {args.action} PROJECT NAME")
    store = None
    try:
        storeless = args.command in STORELESS or (args.command == "suggest" and args.action == "evaluate")
        if not storeless:  # imported here: `--help` and the storeless commands need no SQLAlchemy
            from coding.store import Store
            store = Store(args.db)
        return COMMANDS[args.command](store, args)
    except CodingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    finally:
        if store is not None:  # close the pool's connections (main() also runs inside tests and scripts)
            store.dispose()


if __name__ == "__main__":
    sys.exit(main())
