"""Parsing XML from outside safely (defusedxml) and validating it against the REFI-QDA
schemas (xmlschema), with the element path in every error.

The two XSDs ship inside the package (``coding/interchange/schemas/``, MIT licence of
REFI, see ``LICENSE.txt`` there) and are read with :mod:`importlib.resources`, so an
installed workbench validates every file it reads and writes; nothing is skipped.

Real tools write slightly invalid files. :func:`accept_harmless` removes the known
harmless deviations (an empty container such as Taguette's ``<Sets/>``) before
validation and says which it accepted; every other schema error still refuses the file.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from coding.interchange.errors import RefiError

PROJECT_XSD = "Project-mrt2019.xsd"
CODEBOOK_XSD = "Codebook.xsd"
#: At most this many schema errors are listed; the count says how many there were.
MAX_LISTED = 20
#: Optional containers the schemas require to hold at least one child, by root element:
#: empty, they say "none", which is what a reader takes them to mean (Taguette writes an
#: empty ``<Sets/>`` in every codebook).
EMPTY_ALLOWED = {
    "CodeBook": ("Sets",),
    "Project": ("Users", "Variables", "Cases", "Sources", "Notes", "Links", "Sets", "Graphs"),
}


def parse_xml(data: bytes, where: str) -> Element:
    """The root element; a DTD, an entity or an external reference refuses the file."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise RefiError(f"{where}: the XML declares a DTD or entities ({type(exc).__name__}), which REFI-QDA "
                        "never needs and which can be used to attack the reader; the file was refused") from None
    except SafeET.ParseError as exc:
        raise RefiError(f"{where}: is not well-formed XML ({exc}); export it again from its tool") from None


def schema_text(xsd: str) -> str:
    """The text of a shipped REFI-QDA schema (``PROJECT_XSD`` or ``CODEBOOK_XSD``)."""
    return resources.files("coding.interchange").joinpath("schemas", xsd).read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def _schema(xsd: str):
    import xmlschema  # imported when first needed: it takes a moment to load

    return xmlschema.XMLSchema(schema_text(xsd))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def accept_harmless(root: Element) -> list[str]:
    """Remove the known harmless deviations from ``root`` (in place) and describe each one
    accepted, naming its element path; validate afterwards."""
    allowed = EMPTY_ALLOWED.get(_local(str(root.tag)), ())
    accepted = []
    for el in list(root):
        name = _local(str(el.tag))
        if name in allowed and not any(isinstance(ch.tag, str) for ch in el) and not (el.text or "").strip():
            root.remove(el)
            accepted.append(f"/{_local(str(root.tag))}/{name} is empty (the schema wants at least one "
                            f"{name[:-1]} in it): accepted as no {name.lower()}")
    return accepted


def validate(root: Element, xsd: str) -> list[str]:
    """Schema problems of ``root`` as ``path: reason`` lines (empty: valid)."""
    errors = []
    for err in _schema(xsd).iter_errors(root):
        reason = (err.reason or str(err.message)).strip().splitlines()[0]
        errors.append(f"{err.path or '/'}: {reason}")
    return errors
