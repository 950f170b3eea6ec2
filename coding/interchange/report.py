"""The report of a REFI-QDA import: what it stored, skipped and found."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coding.interchange.plan import CODE_NOTE_LINE


@dataclass
class RefiImportReport:
    """What an import stored, skipped and found; :meth:`lines` says it in words."""

    file: str
    origin: str
    convention: str
    project: str = ""
    dry_run: bool = False
    members_created: list[str] = field(default_factory=list)
    members_matched: list[str] = field(default_factory=list)
    codes_created: int = 0
    codes_updated: int = 0
    documents: list[str] = field(default_factory=list)
    codings_by_coder: dict[str, int] = field(default_factory=dict)
    consensus_codings: int = 0
    document_memos: int = 0
    coding_memos: int = 0
    journal_entries: int = 0
    code_notes: int = 0  # appended to their code's definition (there are no memos on codes)
    sets_created: int = 0
    sets_updated: int = 0
    set_members: int = 0
    attributes: int = 0
    selections: int = 0
    inside_word: int = 0
    snapped: int = 0
    skipped: Counter = field(default_factory=Counter)  # kind -> count, never silently dropped
    problems: list[str] = field(default_factory=list)  # found and skipped (lenient)
    warnings: list[str] = field(default_factory=list)

    @property
    def inside_word_share(self) -> float:
        return self.inside_word / self.selections if self.selections else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items()}
        d["skipped"] = dict(self.skipped)
        d["inside_word_share"] = round(self.inside_word_share, 4)
        return d

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        out = [f"{self.file} ({self.origin or 'origin not given'}; positions read as {self.convention}): "
               f"{verb} into {self.project!r}",
               f"members: {len(self.members_created)} new ({', '.join(self.members_created) or '-'}), "
               f"{len(self.members_matched)} already there ({', '.join(self.members_matched) or '-'})",
               f"codes: {self.codes_created} new, {self.codes_updated} updated",
               f"documents: {len(self.documents)}",
               "codings: " + (", ".join(f"{k} {v}" for k, v in sorted(self.codings_by_coder.items())) or "none")
               + (f" (consensus layer: {self.consensus_codings})" if self.consensus_codings else ""),
               f"memos: {self.document_memos} on documents, {self.coding_memos} on codings, "
               f"{self.journal_entries} journal entries; attributes: {self.attributes} values",
               f"sets: {self.sets_created} new, {self.sets_updated} updated ({self.set_members} members)"]
        if self.code_notes:
            out.append(f"notes on codes: {self.code_notes}, appended to their code's definition under a line "
                       f"{CODE_NOTE_LINE!r} (the workbench keeps no memos on codes)")
        if self.selections:
            out.append(f"selections: {self.selections}, {self.inside_word} ({self.inside_word_share:.0%}) start or "
                       f"end inside a word, {self.snapped} widened to whole characters")
        if self.skipped:
            out.append("not imported: " + ", ".join(f"{n} {k}" for k, n in sorted(self.skipped.items())))
        return out
