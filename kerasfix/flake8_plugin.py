"""kerasfix as a flake8 plugin (entry point `flake8.extension`, codes `KF`): `flake8 --select KF` reports
what `kerasfix check` reports for the file, with the same codes and messages, under the same
configuration (the nearest `[tool.kerasfix]`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from kerasfix import __version__

# A file kerasfix could not check (its parser refused what Python accepts, or an internal error):
# flake8 has no channel for a plugin's errors but findings, and a skipped file must not pass silently.
NOT_CHECKED = "KF000"


class KerasfixChecker:
    """flake8 gives a plugin the file's name and lines; kerasfix analyses the lines as that file."""

    name = "kerasfix"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: list[str]) -> None:
        # `tree` is asked for only so that flake8 runs the plugin on files Python can parse (it
        # reports the others itself, as E999)
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        from kerasfix.buffers import check_text, file_settings
        from kerasfix.config import ConfigError
        from kerasfix.source import Source

        # flake8 names standard input "stdin" (or what --stdin-display-name says): configuration is
        # then found from the working directory, as for `kerasfix check` of a file named so
        path = Path(self.filename)
        try:
            chosen = file_settings(path)
        except ConfigError as error:
            yield 1, 0, f"{NOT_CHECKED} kerasfix could not check this file: configuration error: {error}", type(self)
            return
        if chosen.excluded is not None:
            return
        source = Source(path=path, text="".join(self.lines), raw=b"")
        findings, error = check_text(source, chosen.settings)
        for finding in findings:
            yield finding.location.row, finding.location.column - 1, f"{finding.code} {finding.message}", type(self)
        if error is not None:
            yield error.row or 1, max((error.column or 1) - 1, 0), f"{NOT_CHECKED} kerasfix could not check this file: {error.message}", type(self)
