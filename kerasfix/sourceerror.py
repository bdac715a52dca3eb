"""The error for a file that cannot be read as source (.py or notebook): its message is for the user."""

from __future__ import annotations


class SourceError(Exception):
    """A file that cannot be read as source; the message says why, for the user."""

    def __init__(self, message: str, row: int | None = None, cell: int | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.cell = cell
