"""The parts a report is made of: sections of paragraphs and tables, and the report with its notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)  # caption, header, rows
    charts: list[tuple[str, dict]] = field(default_factory=list)  # caption, Vega-Lite spec (an image in the DOCX)


@dataclass
class MethodsReport:
    project: str
    sections: list[Section]
    notes: list[str]                 # note n (1-based): the command that reproduces the numbers marked [n]
    numbers: dict[str, Any]          # every headline number, for checks and the page
