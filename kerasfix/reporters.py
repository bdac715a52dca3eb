"""Writing findings out: text (with source excerpts), JSON, SARIF 2.1.0 and GitHub annotations."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Callable
from urllib.parse import quote

from kerasfix import __version__
from kerasfix.findings import Edit, FileError, Finding, Location

# kerasfix is not on a package index: its documentation is the repository's README, whose "Rules"
# section holds the rule table (each rule's full text is `kerasfix explain CODE`).
REPOSITORY_URL = "https://github.com/kerasfix/kerasfix"
RULES_URL = f"{REPOSITORY_URL}#rules"


def _location(location: Location) -> dict:
    data = {"row": location.row, "column": location.column}
    if location.cell is not None:
        data["cell"] = location.cell
    return data


def _where(filename: str, location: Location) -> str:
    if location.cell is not None:
        return f"{filename}:cell {location.cell}:{location.row}:{location.column}"
    return f"{filename}:{location.row}:{location.column}"


def finding_to_dict(finding: Finding, edit_location) -> dict:
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability,
            "message": finding.fix.message,
            "edits": [edit_location(edit) for edit in [*finding.fix.edits, *finding.import_edits]],
        }
    return {
        "code": finding.code,
        "message": finding.message,
        "filename": finding.filename,
        "location": _location(finding.location),
        "end_location": _location(finding.end_location),
        "fix": fix,
    }


def error_to_dict(error: FileError) -> dict:
    location = {"row": error.row or 1, "column": error.column or 1}
    if error.cell is not None:
        location["cell"] = error.cell
    return {
        "code": None,
        "message": error.message,
        "filename": error.filename,
        "location": location,
        "end_location": dict(location),
        "fix": None,
        "error": error.kind,
    }


def write_json(out: IO[str], findings: list[Finding], errors: list[FileError], edit_locations) -> None:
    items = [finding_to_dict(f, edit_locations(f.filename)) for f in findings]
    items += [error_to_dict(e) for e in errors]
    json.dump(items, out, indent=2)
    out.write("\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


FileLocator = Callable[[str, Location], Location]


def _as_is(filename: str, location: Location) -> Location:
    return location


def file_locator(sources: dict[str, object]) -> FileLocator:
    """A function mapping a finding's location to the line and column of the file itself: for a
    notebook, the line of the JSON text that holds the cell's source line (GitHub and SARIF point
    into the file as it is); other locations are already the file's."""

    def locate(filename: str, location: Location) -> Location:
        source = sources.get(filename)
        notebook = getattr(source, "notebook", None)
        if location.cell is None or notebook is None:
            return location
        row, column = notebook.file_position(location.cell, location.row, location.column)
        return Location(row, column)

    return locate


def _in_cell(location: Location) -> str:
    """Where in a notebook cell, for the message: the file position no longer says it."""
    return f"cell {location.cell}, line {location.row}, column {location.column}"


def write_github(out: IO[str], findings: list[Finding], errors: list[FileError], locate: FileLocator = _as_is) -> None:
    for finding in findings:
        cell = f" ({_in_cell(finding.location)})" if finding.location.cell else ""
        start, end = locate(finding.filename, finding.location), locate(finding.filename, finding.end_location)
        properties = (
            f"title={_escape_property('kerasfix (' + finding.code + ')')},"
            f"file={_escape_property(finding.filename)},"
            f"line={start.row},col={start.column},"
            f"endLine={end.row},endColumn={end.column}"
        )
        out.write(f"::error {properties}::{_escape_data(f'{finding.code} {finding.message}{cell}')}\n")
    for error in errors:
        where = Location(error.row or 1, error.column or 1, error.cell)
        cell = f" ({_in_cell(where)})" if error.cell and error.row else f" (cell {error.cell})" if error.cell else ""
        at = locate(error.filename, where) if error.row else where
        out.write(
            f"::error title=kerasfix,file={_escape_property(error.filename)},line={at.row},"
            f"col={at.column}::{_escape_data(error.message + cell)}\n"
        )


def _artifact(filename: str) -> dict:
    """A SARIF artifactLocation: a percent-encoded URI relative to %SRCROOT% (the working
    directory), or an absolute file URI with no `uriBaseId` for a file outside it (SARIF 2.1.0
    §3.4.4: a `uriBaseId` goes only with a relative `uri`)."""
    path = Path(filename)
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return {"uri": path.resolve().as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": "%SRCROOT%"}


def write_sarif(out: IO[str], findings: list[Finding], errors: list[FileError], locate: FileLocator = _as_is) -> None:
    from kerasfix import registry

    specs = registry.all_specs()
    used = sorted({finding.code for finding in findings})
    rules = []
    for code in used:
        spec = specs[code]
        rules.append(
            {
                "id": code,
                "name": spec.name,
                "shortDescription": {"text": spec.summary},
                "fullDescription": {"text": spec.what},
                "help": {"text": spec.why, "markdown": spec.explanation()},
                "helpUri": RULES_URL,
                "defaultConfiguration": {"level": "error"},
                "properties": {"fixSafety": spec.fix_safety},
            }
        )
    index = {code: position for position, code in enumerate(used)}
    results = []
    for finding in findings:
        text = finding.message + (f" (notebook {_in_cell(finding.location)})" if finding.location.cell else "")
        start, end = locate(finding.filename, finding.location), locate(finding.filename, finding.end_location)
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": index[finding.code],
                "level": "error",
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": _artifact(finding.filename),
                            "region": {
                                "startLine": start.row,
                                "startColumn": start.column,
                                "endLine": end.row,
                                "endColumn": end.column,
                            },
                        }
                    }
                ],
            }
        )
    notifications = []
    for error in errors:
        physical: dict = {"artifactLocation": _artifact(error.filename)}
        where = Location(error.row or 1, error.column or 1, error.cell)
        at = locate(error.filename, where)
        if error.row is not None and (error.cell is None or at is not where):  # a notebook's, when it maps
            physical["region"] = {"startLine": at.row, "startColumn": at.column}
        cell = f" (notebook {_in_cell(where)})" if error.cell is not None and error.row else ""
        notifications.append(
            {
                "level": "error",
                "message": {"text": f"{error.filename}: {error.message}{cell}"},
                "locations": [{"physicalLocation": physical}],
            }
        )
    invocation = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kerasfix",
                        "version": __version__,
                        "informationUri": REPOSITORY_URL,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def write_text(console, findings: list[Finding], errors: list[FileError], unsafe_fixes: bool, show_source: bool = True) -> None:
    from rich.cells import cell_len
    from rich.markup import escape

    for finding in findings:
        fixable = finding.fix is not None and (finding.fix.applicability == "safe" or unsafe_fixes)
        marker = " [cyan]\\[*][/cyan]" if fixable else ""
        console.print(
            f"[bold]{escape(_where(finding.filename, finding.location))}:[/bold] "
            f"[bold red]{finding.code}[/bold red]{marker} {escape(finding.message)}",
            highlight=False,
        )
        if show_source and finding.source_line:
            row = str(finding.location.row)
            pad = " " * len(row)
            line = finding.source_line.expandtabs(4) if "\t" not in finding.source_line else finding.source_line.replace("\t", " ")
            start = finding.location.column - 1
            end = finding.end_location.column - 1 if finding.end_location.row == finding.location.row else len(line)
            # Terminal cells, not characters: a wide character (CJK, emoji) before or inside the
            # span takes two, and the caret must stand under the code it marks.
            offset, width = cell_len(line[:start]), max(1, cell_len(line[start:end]))
            console.print(f"[blue]{pad} |[/blue]", highlight=False)
            console.print(f"[blue]{row} |[/blue] {escape(line)}", highlight=False)
            console.print(f"[blue]{pad} |[/blue] {' ' * offset}[red]{'^' * width}[/red]", highlight=False)
            console.print("")
    for error in errors:
        where = error.filename
        if error.cell is not None:
            where += f":cell {error.cell}"
        if error.row is not None:
            where += f":{error.row}:{error.column or 1}"
        label = {"parse": "error", "io": "error", "internal": "internal error"}[error.kind]
        console.print(f"[bold]{escape(where)}:[/bold] [bold red]{label}:[/bold red] {escape(error.message)}", highlight=False)


def summary_line(findings: list[Finding], errors: list[FileError], unsafe_fixes: bool) -> str:
    if not findings and not errors:
        return "All checks passed!"
    parts = []
    if findings:
        safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "safe")
        unsafe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "unsafe")
        noun = "finding" if len(findings) == 1 else "findings"
        parts.append(f"Found {len(findings)} {noun}.")
        fixable = safe + (unsafe if unsafe_fixes else 0)
        if fixable:
            parts.append(f"[*] {fixable} fixable with `kerasfix migrate{' --unsafe-fixes' if unsafe_fixes and unsafe else ''}`.")
        if unsafe and not unsafe_fixes:
            parts.append(f"{unsafe} more fixable with `kerasfix migrate --unsafe-fixes`.")
    if errors:
        noun = "file" if len(errors) == 1 else "files"
        parts.append(f"{len(errors)} {noun} could not be checked.")
    return " ".join(parts)


def edit_locator(sources: dict[str, object]):
    """A function mapping a filename to a function that turns an Edit into JSON with row/column."""

    def for_file(filename: str):
        source = sources.get(filename)

        def convert(edit: Edit) -> dict:
            if source is None:
                return {"content": edit.content, "start": edit.start, "end": edit.end}
            return {
                "content": edit.content,
                "location": _location(source.location(edit.start)),
                "end_location": _location(source.location(edit.end)),
            }

        return convert

    return for_file


def relative_name(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
