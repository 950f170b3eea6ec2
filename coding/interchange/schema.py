"""Parsing XML from outside safely (defusedxml) and validating it against the REFI-QDA
schemas (xmlschema), with the element path in every error."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from coding.store.engine import REPO_ROOT
from coding.interchange.errors import RefiError

PROJECT_XSD = "Project-mrt2019.xsd"
CODEBOOK_XSD = "Codebook.xsd"
#: At most this many schema errors are listed; the count says how many there were.
MAX_LISTED = 20


def parse_xml(data: bytes, where: str) -> Element:
    """The root element; a DTD, an entity or an external reference refuses the file."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise RefiError(f"{where}: the XML declares a DTD or entities ({type(exc).__name__}), which REFI-QDA "
                        "never needs and which can be used to attack the reader; the file was refused") from None
    except SafeET.ParseError as exc:
        raise RefiError(f"{where}: is not well-formed XML ({exc}); export it again from its tool") from None


def schema_dir() -> Path | None:
    """Where the REFI-QDA XSDs are: $CODING_REFI_SCHEMAS, else the shared reference folder
    beside the repository; None when neither holds them."""
    for cand in (os.environ.get("CODING_REFI_SCHEMAS"), REPO_ROOT.parent / "shared" / "refi"):
        if cand and (Path(cand) / PROJECT_XSD).is_file() and (Path(cand) / CODEBOOK_XSD).is_file():
            return Path(cand)
    return None


@lru_cache(maxsize=4)
def _schema(path: str):
    import xmlschema  # imported when first needed: it takes a moment to load

    return xmlschema.XMLSchema(path)


def validate(root: Element, xsd: str) -> list[str] | None:
    """Schema problems of ``root`` as ``path: reason`` lines (empty: valid); None when the
    schemas are not available here."""
    d = schema_dir()
    if d is None:
        return None
    errors = []
    for err in _schema(str(d / xsd)).iter_errors(root):
        reason = (err.reason or str(err.message)).strip().splitlines()[0]
        errors.append(f"{err.path or '/'}: {reason}")
    return errors
