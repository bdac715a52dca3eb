"""The `check` and `migrate` commands: configuration, discovery, running and reporting."""

from __future__ import annotations

import itertools
import os
import sys
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING

# Imports are made where they are needed: a run that parses nothing (a pre-commit run on a file
# without Keras) should load neither LibCST nor rich.
if TYPE_CHECKING:
    from kerasfix.config import Config
    from kerasfix.files import Discovery
    from kerasfix.settings import Settings
    from kerasfix.runner import FileResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def prepare(args: Namespace) -> tuple[Config, Settings, list[Path]]:
    """Configuration, settings and files; a path that does not exist stops here (PathError)."""
    from kerasfix.files import PathError

    config, settings, found = prepare_run(args)
    if found.missing:
        raise PathError(found.missing[0])
    return config, settings, found.files


def prepare_run(args: Namespace) -> tuple[Config, Settings, Discovery]:
    """Configuration, settings and what the paths cover, with the paths that do not exist, the ones
    --force-exclude leaves out and the directories that cannot be read, for the run to report."""
    from kerasfix import registry
    from kerasfix.config import Config, ConfigError, find_config, load_config, validate
    from kerasfix.settings import Settings
    from kerasfix.files import collect

    paths = args.paths or [Path(".")]
    if args.isolated:
        config = Config(root=Path.cwd().resolve())
    else:
        config_path = args.config
        if config_path is not None and not config_path.is_file():
            raise ConfigError(f"{config_path}: no such configuration file")
        config_path = config_path or find_config(paths[0])
        config = load_config(config_path, Path.cwd())
    selected = _split(args.select)
    if selected:  # as in Ruff: a command-line selection replaces the file's select, extend-select and ignore
        config.select, config.extend_select, config.ignore = selected, [], []
    config.extend_select = [*config.extend_select, *_split(args.extend_select)]
    config.ignore = [*config.ignore, *_split(args.ignore)]
    if args.target:
        config.target = args.target
    if getattr(args, "unsafe_fixes", None):
        config.unsafe_fixes = True
    validate(config, "command line")
    enabled = registry.select(config.select, config.ignore, config.extend_select)
    settings = Settings(enabled=enabled, target=config.target, unsafe_fixes=config.unsafe_fixes)
    return config, settings, collect(paths, config, force_exclude=getattr(args, "force_exclude", False))


def _skipped(found: Discovery, args: Namespace) -> None:
    """Say which files named on the command line --force-exclude left out."""
    if not args.quiet:
        for message in found.skipped:
            print(f"kerasfix: warning: {message}", file=sys.stderr)


def _unreadable(found: Discovery) -> list[FileResult]:
    """Directories that could not be listed, as files that could not be read."""
    if not found.unreadable:
        return []
    from kerasfix.findings import FileError
    from kerasfix.reporters import relative_name
    from kerasfix.runner import FileResult

    return [FileResult(path, error=FileError(relative_name(path), message, "io")) for path, message in found.unreadable]


def _missing(found: Discovery) -> int:
    """Paths that do not exist, reported once the others have been processed: exit 2."""
    for message in found.missing:
        print(f"kerasfix: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _console(stream=None):
    from rich.console import Console

    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)


def check(args: Namespace) -> int:
    from kerasfix.reporters import summary_line
    from kerasfix.runner import check_paths

    config, settings, found = prepare_run(args)
    _skipped(found, args)
    jobs = args.jobs or os.cpu_count() or 1
    results = check_paths(found.files, settings, config, jobs, use_cache=not args.no_cache) + _unreadable(found)
    findings = sorted((f for r in results for f in r.findings), key=lambda f: f.sort_key())
    errors = [r.error for r in results if r.error is not None]
    output = args.output_format
    if output == "json":
        from kerasfix.engine import ImportEditor, ParseFailure
        from kerasfix.reporters import edit_locator, write_json

        sources = _sources_with_fixes(results)
        by_file: dict[str, list] = {}
        for finding in findings:
            if finding.fix is not None and (finding.fix.requires or finding.fix.releases) and finding.filename in sources:
                by_file.setdefault(finding.filename, []).append(finding)
        for name, fixed in by_file.items():
            try:
                editor = ImportEditor(sources[name], [f.fix for f in fixed], settings.target)
            except ParseFailure:
                continue  # the file parsed when it was checked; it changed since
            for finding in fixed:
                finding.import_edits = editor.edits_for(finding.fix)
        write_json(sys.stdout, findings, errors, edit_locator(sources))
    elif output == "sarif":
        from kerasfix.reporters import file_locator, write_sarif

        write_sarif(sys.stdout, findings, errors, file_locator(_notebook_sources(results)))
    elif output == "github":
        from kerasfix.reporters import file_locator, write_github

        write_github(sys.stdout, findings, errors, file_locator(_notebook_sources(results)))
    elif not findings and not errors:
        if not args.quiet:  # the line rich would print (no markup, no wrapping), without loading rich
            print(summary_line(findings, errors, settings.unsafe_fixes))
    else:
        from kerasfix.reporters import write_text

        console = _console()
        write_text(console, findings, errors, settings.unsafe_fixes, show_source=not args.no_source)
        if not args.quiet or findings or errors:
            console.print(summary_line(findings, errors, settings.unsafe_fixes), highlight=False, markup=False)
    if found.missing:
        return _missing(found)
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if findings or errors else EXIT_CLEAN


class Terminated(BaseException):
    """SIGTERM during `migrate`: raised where the run is, so a write in progress removes its temporary file."""


def migrate(args: Namespace) -> int:
    import signal

    def terminate(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        return _migrate(args)
    try:
        return _migrate(args)
    except Terminated:
        print("kerasfix: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _migrate(args: Namespace) -> int:
    from kerasfix.runner import migrate_paths

    config, settings, found = prepare_run(args)
    _skipped(found, args)
    write = not (args.diff or args.check)
    console = _console()
    results: list[FileResult] = []
    jobs = args.jobs or os.cpu_count() or 1
    migrated = migrate_paths(found.files, settings, config, write, jobs)
    try:
        for result in itertools.chain(migrated, _unreadable(found)):
            results.append(result)
            _report_file(console, result, args, write)
    finally:
        migrated.close()  # interrupted here: the workers are stopped now, and a second Ctrl-C reaches them
    # a file whose write failed is reported as an error, not counted as fixed
    changed = [r for r in results if (r.written if write else r.new_text is not None)]
    remaining = [f for r in results for f in r.findings]
    errors = [r.error for r in results if r.error is not None]
    fixed = sum(len(r.fixed) for r in changed)
    if not args.quiet or errors or remaining:
        verb = "Fixed" if write else "Would fix"
        noun = "file" if len(changed) == 1 else "files"
        line = f"{verb} {fixed} finding{'s' if fixed != 1 else ''} in {len(changed)} {noun}"
        if remaining:
            unsafe = sum(1 for f in remaining if f.fix is not None and f.fix.applicability == "unsafe")
            line += f"; {len(remaining)} remaining"
            if unsafe and not settings.unsafe_fixes:
                line += f" ({unsafe} fixable with `--unsafe-fixes`)"
        if errors:
            line += f"; {len(errors)} file{'s' if len(errors) != 1 else ''} could not be processed"
        console.print(line + ".", highlight=False, markup=False)
    if found.missing:
        return _missing(found)
    if not write:
        return EXIT_FINDINGS if changed or errors else EXIT_CLEAN
    return EXIT_FINDINGS if remaining or errors else EXIT_CLEAN


def _report_file(console, result: FileResult, args: Namespace, write: bool) -> None:
    from rich.markup import escape

    from kerasfix.reporters import write_text

    name = escape(result.source.display if result.source else str(result.path))
    if result.error is not None:
        write_text(console, [], [result.error], False)
    if result.new_text is not None and args.diff:
        _print_diff(console, result)
    if result.new_text is not None and (result.written or not write) and not args.quiet:
        counts: dict[str, int] = {}
        for finding in result.fixed:
            counts[finding.code] = counts.get(finding.code, 0) + 1
        detail = ", ".join(f"{code} ×{count}" if count > 1 else code for code, count in sorted(counts.items()))
        verb = "fixed" if result.written else "would fix"
        console.print(f"[bold]{name}[/bold]: {verb} {len(result.fixed)} ({detail})", highlight=False)
    if result.findings:
        for finding in result.findings:
            why = ""
            if finding.fix is not None and finding.fix.applicability == "unsafe" and not args.unsafe_fixes:
                why = " [dim](unsafe fix: use --unsafe-fixes)[/dim]"
            location = finding.location
            where = f"{name}:" + (f"cell {location.cell}:" if location.cell else "") + f"{location.row}:{location.column}"
            console.print(f"{where}: [bold red]{finding.code}[/bold red] not fixed: {escape(finding.message)}{why}", highlight=False)


def _print_diff(console, result: FileResult) -> None:
    import difflib

    from rich.text import Text

    source = result.source
    before, after = source.text, result.new_text
    label = source.display
    if source.notebook is not None:
        # cell sources as they are in the file: magics restored, no cell markers
        old_cells, new_cells = source.notebook.cell_sources(before), source.notebook.cell_sources(after)
        chunks = [
            (f"{label}:cell {index + 1}", old_cells.get(index, ""), text)
            for index, text in new_cells.items()
            if old_cells.get(index) != text
        ]
    else:
        chunks = [(label, before, after)]
    for name, old, new in chunks:
        lines = difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{name}", tofile=f"b/{name}"
        )
        for line in lines:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else None
            console.print(Text(line.rstrip("\r\n"), style=style or ""), highlight=False)


def _sources_with_fixes(results: list[FileResult]) -> dict:
    """Sources of files whose findings carry fixes: JSON edits are given as row/column in them."""
    from kerasfix.source import SourceError, read_source

    sources = {}
    for result in results:
        if any(f.fix is not None for f in result.findings):
            try:
                source = result.source or read_source(result.path)
            except SourceError:
                continue
            sources[result.findings[0].filename] = source
    return sources


def _notebook_sources(results: list[FileResult]) -> dict:
    """Sources of notebooks with something to report in a cell, by the name reported: GitHub and
    SARIF locations are lines of the notebook file, worked out from its JSON text."""
    from kerasfix.source import SourceError, read_source

    sources = {}
    for result in results:
        located = [f.filename for f in result.findings if f.location.cell is not None]
        if result.error is not None and result.error.cell is not None:
            located.append(result.error.filename)
        if not located or result.path.suffix != ".ipynb":
            continue
        try:
            source = result.source or read_source(result.path)
        except SourceError:
            continue
        for name in located:
            sources[name] = source
    return sources


def clean(args: Namespace) -> int:
    from kerasfix.cache import clean as remove
    from kerasfix.config import find_config

    config_path = find_config(Path("."))
    root = config_path.parent if config_path else Path.cwd()
    removed = remove(root)
    print("Removed the cache." if removed else "No cache to remove.")
    return EXIT_CLEAN
