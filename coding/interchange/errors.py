"""The error of an exchange that cannot go ahead."""

from __future__ import annotations

from coding.errors import CodingError


class RefiError(CodingError):
    """A REFI-QDA file is refused (unsafe, malformed, invalid) or cannot be written;
    ``reasons`` lists every problem found, each naming the element path."""

    def __init__(self, message: str, reasons: list[str] | None = None):
        self.reasons = list(reasons or [])
        super().__init__(message)
