"""Big import files made on the fly (tests and bench/concurrency_bench.py): a REFI-QDA
project or codebook with many codes, a YAML codebook, a batch of transcripts.

Names are those of an oral-history study, not the demo's. GUIDs are derived from the
seed, so two files made with the same arguments are the same file."""

from __future__ import annotations

import io
import random
import re
import uuid
import zipfile
from xml.sax.saxutils import quoteattr

NS = "urn:QDA-XML:project:1.0"
WORDS = ("crane", "quay", "tally", "gang", "foreman", "union", "shift", "cargo", "container", "ship",
         "hook", "winch", "pay", "strike", "dock", "berth")


def _guid(seed: int, *key) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, (seed, *key)))))


def _tree(n_codes: int, seed: int) -> tuple[list[tuple[str, str, list[tuple[str, str]]]], list[str]]:
    """Folders of codes, about n_codes in all: [(folder guid, name, [(code guid, name)])], leaf guids."""
    folders = max(1, min(100, n_codes // 20))
    per = max(1, (n_codes - folders) // folders)
    tree, leaves = [], []
    for f in range(folders):
        kids = [(_guid(seed, "code", f, c), f"Theme {seed}.{f}.{c}") for c in range(per)]
        leaves += [g for g, _ in kids]
        tree.append((_guid(seed, "folder", f), f"Topic {seed}.{f}", kids))
    return tree, leaves


def _codebook_xml(tree) -> str:
    out = []
    for fg, fname, kids in tree:
        inner = "".join(f'<Code guid="{g}" name={quoteattr(n)} isCodable="true">'
                        f"<Description>Talk about {n.lower()}.</Description></Code>" for g, n in kids)
        out.append(f'<Code guid="{fg}" name={quoteattr(fname)} isCodable="false">{inner}</Code>')
    return f'<CodeBook><Codes>{"".join(out)}</Codes></CodeBook>'


def transcript(i: int, seed: int = 1, turns: int = 12) -> str:
    rng = random.Random(seed * 100_003 + i)
    lines = []
    for t in range(turns):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        lines.append(f"Interviewer: what about the {rng.choice(WORDS)}?" if t % 2 == 0 else f"Docker: {words}.")
    return "\n\n".join(lines) + "\n"


def qdpx(n_codes: int, *, n_docs: int = 5, codings_per_doc: int = 20, seed: int = 1, user: str = "rita") -> bytes:
    """A REFI-QDA project: ``n_codes`` codes in folders, ``n_docs`` transcripts, each with
    ``codings_per_doc`` codings on whole words by one user."""
    rng = random.Random(seed)
    tree, leaves = _tree(n_codes, seed)
    ug = _guid(seed, "user")
    sources, files = [], {}
    for d in range(n_docs):
        text = transcript(d, seed)
        words = [m.span() for m in re.finditer(r"[a-z]+", text)]
        sels = []
        for k in range(codings_per_doc):
            a = words[(7 * k) % (len(words) - 3)][0]
            b = words[(7 * k) % (len(words) - 3) + 2][1]
            sels.append(f'<PlainTextSelection guid="{_guid(seed, "sel", d, k)}" startPosition="{a}" endPosition="{b}">'
                        f'<Coding guid="{_guid(seed, "coding", d, k)}" creatingUser="{ug}">'
                        f'<CodeRef targetGUID="{rng.choice(leaves)}"/></Coding></PlainTextSelection>')
        sg = _guid(seed, "doc", d)
        sources.append(f'<TextSource guid="{sg}" name="Docker_{seed}_{d:03d}" plainTextPath="internal://{sg}.txt">'
                       f'{"".join(sels)}</TextSource>')
        files[f"sources/{sg}.txt"] = text.encode("utf-8")
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="dockside" origin="QualCoder">'
           f'<Users><User guid="{ug}" name={quoteattr(user)}/></Users>{_codebook_xml(tree)}'
           f'<Sources>{"".join(sources)}</Sources></Project>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", xml)
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def qdc(n_codes: int, *, seed: int = 1) -> bytes:
    """A REFI-QDA codebook of about ``n_codes`` codes in folders."""
    tree, _ = _tree(n_codes, seed)
    return (f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="QualCoder">'
            f'{_codebook_xml(tree)[len("<CodeBook>"):]}').encode("utf-8")


def yaml_codebook(n_codes: int, *, seed: int = 1) -> str:
    """A YAML codebook of about ``n_codes`` codes in folders."""
    tree, _ = _tree(n_codes, seed)
    out = ["codebook: Dockside", "codes:"]
    for _, fname, kids in tree:
        out += [f"  - name: {fname}", "    codable: false", "    children:"]
        out += [f"      - name: {n}\n        definition: Talk about {n.lower()}." for _, n in kids]
    return "\n".join(out) + "\n"


def transcripts(n: int, *, seed: int = 1) -> list[tuple[str, bytes]]:
    """``n`` transcripts as (file name, bytes), as the browser uploads them."""
    return [(f"Dock_{seed}_{i:03d}.txt", transcript(i, seed).encode("utf-8")) for i in range(n)]
