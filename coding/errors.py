"""The engine's error catalogue.

Every public function of :mod:`coding` raises a subclass of :class:`CodingError`
whose message says what went wrong *and* what to do about it. The CLI turns
any of them into one line on stderr and exit status 1; the UI into ``st.error``.
"""

from __future__ import annotations


class CodingError(Exception):
    """Base class: a problem the user can fix (bad input, wrong state, no right)."""


class InputFileError(CodingError):
    """A file given to an import is unusable (empty, binary, too big, undecodable...)."""

    def __init__(self, filename: str, problem: str, fix: str):
        self.filename = filename
        self.problem = problem
        self.fix = fix
        super().__init__(f"{filename}: {problem}. {fix}")


class CodebookError(CodingError):
    """A codebook file or codebook operation is invalid; names the node path and field."""


class NotFoundError(CodingError):
    """A named project, document, code, coder or coding does not exist."""


class PermissionDeniedError(CodingError):
    """The acting member's role does not allow this operation."""


class ConflictError(CodingError):
    """The operation clashes with the current state (duplicate name, closed round...)."""


class OffsetError(CodingError):
    """A span does not fit the document text, or a unit conversion is impossible."""


class AgreementError(CodingError):
    """Agreement cannot be computed from the given data (wrong shape, unknown level...)."""


class StoreError(CodingError):
    """The database cannot be opened, migrated or reached (URL, server down, file permissions)."""


class StorageBusyError(ConflictError):
    """Other people's changes kept the database busy past the wait limit, even after retries;
    nothing of this change was saved and trying again is safe."""


class StorageDataError(CodingError):
    """The database refused a value (too long for its field, a NUL character, a broken rule)."""
