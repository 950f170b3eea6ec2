"""``python -m coding suggest ...``: process documents for suggestions, emergent themes, codes for a span.

    suggest process NAME                      parse what is not cached yet (progress on stderr)
    suggest themes NAME --as MEMBER [--unit sentence|turn] [--layer own|all|consensus] [--json]
    suggest codes NAME --as MEMBER --document DOC --start S --end E [--json]
    suggest more NAME --as MEMBER --code PATH [--document DOC] [--top N] [--json]
    suggest keyphrases NAME --as MEMBER [--by document|ATTRIBUTE] [--top N] [--json]
    suggest precision NAME --as MEMBER [--json]
    suggest evaluate FILE.jsonl [--language CODE] [--folds 5] [--json]

Themes and codes are computed as the acting member, by the engine's blind rule.
``evaluate`` needs no project: it measures both kinds of suggestion on any coded
collection (one JSON object per line: id, text, codings with start, end, codes).
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register the ``suggest`` command on the main parser's subparsers."""
    sp = sub.add_parser("suggest", help="spaCy suggestions: process documents, emergent themes, codes for a span",
                        description="process: parse every document once (cached by text hash and pipeline). "
                                    "themes: candidate themes from the text you have not coded. codes: existing "
                                    "codes for a span, learned from your own codings. more: the sentences you "
                                    "have not coded that are most like a code. keyphrases: the words and phrases "
                                    "that set each document (or participant group) apart. precision: how many "
                                    "suggestions you accepted and rejected. evaluate: how good both kinds of suggestion "
                                    "are on a coded .jsonl collection of yours (no project needed).")
    sp.add_argument("action", choices=["process", "themes", "codes", "more", "keyphrases", "precision",
                                           "evaluate"])
    sp.add_argument("name", help="project name (evaluate: the coded .jsonl file)")
    sp.add_argument("--language", default="en", metavar="CODE",
                    help="evaluate: language of the texts (ISO 639-1; spacy.blank where no trained pipeline)")
    sp.add_argument("--folds", type=int, default=5, metavar="K", help="evaluate: folds of the grouped cross-validation")
    sp.add_argument("--part", default="all", choices=["all", "held-out", "tuning"],
                    help="evaluate: the whole file, or one half of it split by text id (tune on one, report the other)")
    sp.add_argument("--unit", default="sentence", choices=["sentence", "turn"], help="themes: unit of text")
    sp.add_argument("--layer", default="own", choices=["own", "all", "consensus"],
                    help="codings to learn from (coders: own only)")
    sp.add_argument("--limit", type=int, default=20, metavar="N", help="themes: at most N")
    sp.add_argument("--document", metavar="DOC", help="codes: document name; more: only this document")
    sp.add_argument("--code", metavar="PATH", help="more: the code's path, e.g. 'Synthesis/Aspects to keep'")
    sp.add_argument("--by", default="document", metavar="document|ATTRIBUTE",
                    help="keyphrases: one group per document (default) or per value of this attribute")
    sp.add_argument("--top", type=int, default=10, metavar="N", help="more, keyphrases: at most N per list")
    sp.add_argument("--start", type=int, metavar="S", help="codes: span start (code points)")
    sp.add_argument("--end", type=int, metavar="E", help="codes: span end")
    sp.add_argument("--json", action="store_true", help="stable JSON output")
    # --as after the command too (`suggest themes NAME --as ana`); SUPPRESS keeps a global --as
    sp.add_argument("--as", dest="as_name", metavar="MEMBER", default=argparse.SUPPRESS,
                    help="act as this member (as the global --as)")


from coding.cli.common import print_json, signed_in, command  # noqa: E402  (cli imports this module)


def _progress(done: int, total: int, name: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}", end="", file=sys.stderr,
          flush=True)


@command("suggest")
def cmd_suggest(store, args) -> int:
    from coding.suggest.themes import emergent_themes
    from coding.suggest.passages import more_like_code
    from coding.suggest.keyphrases import keyphrases
    from coding.suggest.processing import process_documents
    from coding.suggest import suggestions as sg
    from coding.errors import CodingError

    if args.action == "evaluate":
        return _evaluate(args)
    if args.action == "process":
        _, member = signed_in(store, args)
        try:
            report = process_documents(store, args.name, member, progress=_progress)
        except KeyboardInterrupt:
            print("\ncancelled: the documents processed so far are cached; run again to go on", file=sys.stderr)
            return 130
        print(file=sys.stderr)
        if args.json:
            print_json({"documents": report.total, "parsed": report.parsed, "cached": report.cached,
                         "pipelines": report.pipelines})
        else:
            print(f"{report.total} documents: {report.parsed} parsed, {report.cached} already cached")
        return 0
    from coding.team.projects import get_project

    project, member = signed_in(store, args)  # a write (the sign-in is recorded); the rest only reads
    if args.action == "themes":
        with store.session(write=False) as s:
            themes = emergent_themes(s, get_project(s, args.name), member, unit=args.unit, layer=args.layer,
                                     limit=args.limit)
        if args.json:
            print_json({"project": project.name, "member": member.name, "unit": args.unit,
                         "layer": args.layer, "themes": [t.as_dict() for t in themes]})
            return 0
        if not themes:
            print("no themes: too little uncoded text with recurring words")
        for t in themes:
            near = f"; nearest code {t.nearest_code} ({t.nearest_score:.2f})" if t.nearest_code else ""
            print(f"{t.rank}. {t.title}{' (restates ' + t.nearest_code + ')' if t.restates else ''}  "
                  f"[{t.units} units, {t.documents} documents, {t.participants} participants{near}]")
            if t.why:
                print(f"   why: its quotes also speak of {', '.join(t.why)}")
            if t.nearest_note:
                print(f"   ({t.nearest_note})")
            for q in t.quotes:
                print(f"   - {q.text!r} {q.attribution} [{q.document} {q.start}-{q.end}]")
        return 0
    from coding.work.documents import get_document

    if args.action == "keyphrases":
        with store.session(write=False) as s:
            groups = keyphrases(s, get_project(s, args.name), member, by=args.by, top=args.top)
        if args.json:
            print_json({"project": project.name, "member": member.name, "by": args.by,
                         "groups": [g.as_dict() for g in groups]})
            return 0
        for g in groups:
            print(f"{g.group}  [{g.documents} documents, {g.sentences} sentences]")
            print("   " + (", ".join(f"{k.text} ({k.score:.1f})" for k in g.phrases) or "(nothing stands out)"))
        return 0
    if args.action == "precision":
        with store.session(write=False) as s:
            p = get_project(s, args.name)
            rows = {m: sg.suggestion_precision(s, p, member, model=m).as_dict()
                    for m in ("codes", "more", "themes")}
        if args.json:
            print_json({"member": member.name, **rows})
        else:
            for m, r in rows.items():
                shown = "-" if r["precision"] is None else f"{r['precision']:.0%}"
                print(f"{m:<7} accepted {r['accepted']:>4}  rejected {r['rejected']:>4}  precision {shown}")
        return 0
    if args.action == "more":
        from coding.codebook.tree import code_tree

        if not args.code:
            raise CodingError("suggest more needs --code PATH (the code's path in the codebook)")
        with store.session(write=False) as s:
            p = get_project(s, args.name)
            code = code_tree(s, p).resolve(args.code)
            doc = get_document(s, p, args.document) if args.document else None
            found = more_like_code(s, p, member, code.id, document=doc, top=args.top, layer=args.layer)
        if args.json:
            print_json({"code": args.code, "document": args.document, "passages": [x.as_dict() for x in found]})
        else:
            if not found:
                print("no uncoded passages like this code")
            for x in found:
                print(f"{x.score:.2f}  {x.quote.text!r} {x.quote.attribution} "
                      f"[{x.quote.document} {x.quote.start}-{x.quote.end}]")
        return 0
    if not args.document or args.start is None or args.end is None:
        raise CodingError("suggest codes needs --document DOC --start S --end E")
    with store.session(write=False) as s:
        project = get_project(s, args.name)
        doc = get_document(s, project, args.document)
        doc_name = doc.name
        hints = sg.suggest_codes(s, project, member, doc, args.start, args.end, layer=args.layer)
    if args.json:
        print_json({"document": doc_name, "start": args.start, "end": args.end,
                     "codes": [{"code": h.path, "score": round(h.score, 3), "evidence": h.evidence.as_dict()}
                               for h in hints]})
    else:
        for h in hints:
            print(f"{h.score:.2f}  {h.path}   e.g. {h.evidence.text[:80]!r} ({h.evidence.document})")
    return 0


def _evaluate(args) -> int:
    from coding.errors import CodingError
    from coding.nlp.evaluate import evaluate_file

    if args.folds < 2:
        raise CodingError(f"--folds {args.folds}: give at least 2 folds")
    out = evaluate_file(args.name, language=args.language, folds=args.folds, part=args.part)
    if args.json:
        print_json(out)
        return 0
    r, ref, e = out["recommender"], out["reference"], out["emergent"]
    b = r["baseline"]

    def ci(x, key):
        lo, hi = x["ci"][key]
        return f"{x[key]:.3f} [{lo:.3f}, {hi:.3f}]"
    print(f"{out['texts']} texts ({out['part']}), {out['words']:,} words, {out['units']} sentences "
          f"({out['seconds']} s); 95% bootstrap intervals in brackets")
    print(f"code suggestions ({r['folds']}-fold, grouped by text; {r['test_units']} coded sentences held out):")
    print(f"  {'':<9} {'this model':<22} {'TF-IDF + logistic':<22} most frequent codes")
    for key, label in (("p_at_1", "P@1"), ("recall_at_5", "recall@5"), ("hit_at_5", "hit@5"), ("mrr", "MRR")):
        print(f"  {label:<9} {ci(r, key):<22} {ci(ref, key):<22} {ci(b, key)}")
    print(f"emergent themes (leave-one-code-out): {e['codes']} of {e['codes_total']} codes scorable; "
          f"mean F1 {e['mean_f1']:.3f} [{e['f1_ci'][0]:.3f}, {e['f1_ci'][1]:.3f}], random groups of the same "
          f"sizes {e['random_f1']:.3f} [{e['random_ci'][0]:.3f}, {e['random_ci'][1]:.3f}]")
    for w in e["warnings"]:
        print(f"warning: {w}")
    return 0
