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


STDIN = Path("-")


def _reads_stdin(args: Namespace) -> bool:
    """`kerasfix check -`: the program comes from stdin. `-` with other paths is a usage error."""
    from kerasfix.files import PathError

    paths = args.paths or []
    if STDIN not in paths:
        if args.stdin_filename is not None:
            raise PathError("--stdin-filename names the program read from stdin: give `-` as the path")
        return False
    if len(paths) > 1:
        raise PathError("`-` (read the program from stdin) cannot be combined with other paths")
    return True


def _stdin_run(args: Namespace) -> tuple[Config, Settings, Path, str | None]:
    """Configuration and settings for the program on stdin, as if it were the file `--stdin-filename`
    names (which need not exist), and why `exclude` leaves it out under --force-exclude, or None."""
    from kerasfix.files import _Exclude

    name = args.stdin_filename or STDIN
    named = Namespace(**{**vars(args), "paths": [name], "force_exclude": False})
    config, settings, _ = prepare_run(named)  # the name need not exist: nothing is read from it
    excluded = None
    if args.stdin_filename is not None and args.force_exclude:
        why = _Exclude(config).why_excluded(name, False)
        if why is not None:
            excluded = f"{name}: skipped because of --force-exclude: {why}"
    return config, settings, name, excluded


def _stdin_bytes() -> bytes:
    """The program on stdin, as bytes (its encoding is decoded as a file's would be)."""
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")


def _stdout_bytes(data: bytes) -> None:
    """The fixed program on stdout, byte for byte (line endings, encoding and BOM as read)."""
    stream = getattr(sys.stdout, "buffer", None)
    sys.stdout.flush()
    if stream is None:  # a text stream without bytes underneath (a caller capturing output)
        sys.stdout.write(data.decode("utf-8", errors="surrogateescape"))
    else:
        stream.write(data)
        stream.flush()


class _Report:
    """Where a command's report goes: stdout, or the file --output-file names (created with its
    directories; written as the report is made)."""

    def __init__(self, args: Namespace) -> None:
        self.path = getattr(args, "output_file", None)
        self.stream = sys.stdout

    def __enter__(self):
        if self.path is not None:
            from kerasfix.config import ConfigError

            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.stream = open(self.path, "w", encoding="utf-8")
            except OSError as error:
                raise ConfigError(f"{self.path}: cannot write the report: {error.strerror or error}") from None
        return self.stream

    def __exit__(self, *exc) -> None:
        if self.stream is not sys.stdout:
            self.stream.close()


def check(args: Namespace) -> int:
    reads_stdin = _reads_stdin(args)
    if args.add_noqa and reads_stdin:
        from kerasfix.files import PathError

        raise PathError("--add-noqa writes files: it cannot be used on stdin")
    if args.watch:
        if reads_stdin:
            from kerasfix.files import PathError

            raise PathError("--watch follows files: it cannot be used on stdin")
        return _watch(args)
    with _Report(args) as out:
        return _check_once(args, out)


WATCH_INTERVAL = 0.5  # seconds between looks at the files' modification times


def _watch(args: Namespace) -> int:
    """`check --watch`: check, then look at the files (and the configuration) every WATCH_INTERVAL
    seconds and check again when one is added, removed or changed, until Ctrl-C. Each run's report
    is flushed as it ends; a configuration error is reported and waited out rather than fatal."""
    import time
    from datetime import datetime

    from kerasfix.config import ConfigError
    from kerasfix.files import PathError
    from kerasfix.ruledata import CatalogueError

    print("Watching for file changes (Ctrl-C to stop).", file=sys.stderr, flush=True)
    try:
        while True:
            before = _snapshot(args)  # taken first: a change made while the check runs starts the next one
            try:
                with _Report(args) as out:
                    _check_once(args, out)
                    out.flush()
            except (ConfigError, PathError, CatalogueError) as error:
                print(f"kerasfix: error: {error}", file=sys.stderr, flush=True)
            while _snapshot(args) == before:
                time.sleep(WATCH_INTERVAL)
            print(f"[{datetime.now():%H:%M:%S}] File change detected; checking again.", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        return EXIT_CLEAN


def _snapshot(args: Namespace) -> dict:
    """Modification time and size of every file the run covers and of its configuration file."""
    from kerasfix.config import ConfigError
    from kerasfix.files import PathError

    try:
        config, _, found = prepare_run(args)
        paths = [*found.files, *([config.path] if config.path else [])]
    except (ConfigError, PathError) as error:
        return {"error": str(error)}
    state = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        state[str(path)] = (info.st_mtime_ns, info.st_size)
    return state


def _check_once(args: Namespace, out) -> int:
    from kerasfix.runner import check_file, check_paths

    missing = False
    if _reads_stdin(args):
        config, settings, name, excluded = _stdin_run(args)
        raw = _stdin_bytes()
        if excluded is not None:
            if not args.quiet:
                print(f"kerasfix: warning: {excluded}", file=sys.stderr)
            results = []
        else:
            results = [check_file(name, str(name), settings, config, raw)]
    else:
        config, settings, found = prepare_run(args)
        _skipped(found, args)
        jobs = args.jobs or os.cpu_count() or 1
        results = check_paths(found.files, settings, config, jobs, use_cache=not args.no_cache) + _unreadable(found)
        missing = bool(found.missing)
    findings = sorted((f for r in results for f in r.findings), key=lambda f: f.sort_key())
    errors = [r.error for r in results if r.error is not None]
    if args.add_noqa:
        findings, errors = _add_noqa(results, findings, errors, args)
    elif args.statistics:
        _write_statistics(out, findings, errors, args.output_format, settings.unsafe_fixes)
    else:
        _write_findings(out, args, results, findings, errors, settings)
    if missing:
        return _missing(found)
    if args.exit_zero or (args.add_noqa and not errors):
        return EXIT_CLEAN
    return EXIT_FINDINGS if findings or errors else EXIT_CLEAN


def _write_findings(out, args: Namespace, results: list[FileResult], findings: list, errors: list, settings: Settings) -> None:
    from kerasfix.reporters import summary_line

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
        write_json(out, findings, errors, edit_locator(sources))
    elif output == "sarif":
        from kerasfix.reporters import file_locator, write_sarif

        write_sarif(out, findings, errors, file_locator(_notebook_sources(results)))
    elif output == "github":
        from kerasfix.reporters import file_locator, write_github

        write_github(out, findings, errors, file_locator(_notebook_sources(results)))
    elif not findings and not errors:
        if not args.quiet:  # the line rich would print (no markup, no wrapping), without loading rich
            print(summary_line(findings, errors, settings.unsafe_fixes), file=out)
    else:
        from kerasfix.reporters import write_text

        console = _console(out)
        write_text(console, findings, errors, settings.unsafe_fixes, show_source=not args.no_source)
        if not args.quiet or findings or errors:
            console.print(summary_line(findings, errors, settings.unsafe_fixes), highlight=False, markup=False)


def _write_statistics(out, findings: list, errors: list, output_format: str, unsafe_fixes: bool) -> None:
    """`--statistics`: how many findings of each rule, and how many of them `migrate` can fix."""
    counts: dict[str, list[int]] = {}
    for finding in findings:
        fixable = finding.fix is not None and (finding.fix.applicability == "safe" or unsafe_fixes)
        entry = counts.setdefault(finding.code, [0, 0])
        entry[0] += 1
        entry[1] += fixable
    names = _rule_names()
    rows = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    if output_format == "json":
        import json

        records = [{"code": code, "name": names.get(code, ""), "count": count, "fixable": fixable} for code, (count, fixable) in rows]
        if errors:
            records.append({"code": None, "name": "files that could not be checked", "count": len(errors), "fixable": 0})
        json.dump(records, out, indent=2)
        out.write("\n")
        return
    width = max((len(str(count)) for _, (count, _) in rows), default=1)
    for code, (count, fixable) in rows:
        marker = "[*]" if fixable == count else "[-]" if fixable else "   "
        out.write(f"{count:>{width}}  {code}  {marker} {names.get(code, '')}\n")
    if errors:
        out.write(f"{len(errors):>{width}}  files that could not be checked\n")
    if rows and any(fixable for _, (_, fixable) in rows):
        out.write("[*] fixable with `kerasfix migrate`; [-] some of them\n")


def _add_noqa(results: list[FileResult], findings: list, errors: list, args: Namespace) -> tuple[list, list]:
    """`--add-noqa`: write `# noqa: CODE` for every finding, file by file. Returns no findings (each
    has its directive now) and the errors: files that could not be checked, read again or written."""
    from kerasfix.findings import FileError
    from kerasfix.noqa import add_codes
    from kerasfix.source import SourceError, read_source, write_atomically

    errors = list(errors)
    added = files = 0
    for result in results:
        if not result.findings:
            continue
        try:
            source = result.source or read_source(result.path)
        except SourceError as error:
            errors.append(FileError(str(result.path), str(error), "io"))
            continue
        lines = _text_lines(source)
        wanted: dict[int, set[str]] = {}
        for finding in result.findings:
            line = lines.get((finding.location.cell, finding.location.row))
            if line is not None:
                wanted.setdefault(line, set()).add(finding.code)
        text, count = add_codes(source.text, wanted)
        if not count:
            continue
        if result.path.is_symlink():
            errors.append(FileError(str(result.path), "not written: the path is a symbolic link (pass the file it points to)", "io"))
            continue
        try:
            write_atomically(result.path, source.render(text))
        except OSError as error:
            errors.append(FileError(str(result.path), f"cannot write: {error.strerror or error}; it was left unchanged", "io"))
            continue
        added += count
        files += 1
    if errors:
        from kerasfix.reporters import write_text

        write_text(_console(sys.stderr), [], errors, False)
    if not args.quiet or added:
        noun = "directive" if added == 1 else "directives"
        print(f"Added {added} noqa {noun} to {files} file{'s' if files != 1 else ''}.", file=sys.stderr)
    return [], errors


def _text_lines(source) -> dict[tuple, int]:
    """(cell, row) as a finding names a line -> the line of the source's text (a notebook's cells are
    one text)."""
    from kerasfix.source import line_starts

    return {
        (location.cell, location.row): number
        for number, start in enumerate(line_starts(source.text), start=1)
        for location in [source.location(start)]
    }


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

    if _reads_stdin(args):
        return _migrate_stdin(args)
    config, settings, found = prepare_run(args)
    _skipped(found, args)
    write = not (args.diff or args.check)
    results: list[FileResult] = []
    jobs = args.jobs or os.cpu_count() or 1
    with _Report(args) as out:
        console = _console(out)
        migrated = migrate_paths(found.files, settings, config, write, jobs)
        try:
            for result in itertools.chain(migrated, _unreadable(found)):
                results.append(result)
                _report_file(console, result, args, write)
        finally:
            migrated.close()  # interrupted here: the workers are stopped now, and a second Ctrl-C reaches them
        status = _migrate_summary(console, args, results, settings, write)
    if found.missing:
        return _missing(found)
    return status


def _migrate_stdin(args: Namespace) -> int:
    """`kerasfix migrate -`: the program from stdin, fixed, on stdout (unchanged when nothing applies
    or it cannot be processed: nothing is lost); messages on stderr. With --diff the diff is printed
    instead, with --check nothing."""
    from kerasfix.runner import migrate_file

    config, settings, name, excluded = _stdin_run(args)
    raw = _stdin_bytes()
    console = _console(sys.stderr)
    if excluded is not None:
        if not args.quiet:
            print(f"kerasfix: warning: {excluded}", file=sys.stderr)
        if not (args.diff or args.check):
            _stdout_bytes(raw)
        return EXIT_CLEAN
    result = migrate_file(name, str(name), settings, config, write=False, raw=raw)
    write = not (args.diff or args.check)
    if args.diff:
        if result.new_text is not None:
            _print_diff(_console(), result)
    elif write:
        fixed = result.source.render(result.new_text) if result.new_text is not None else raw
        _stdout_bytes(fixed)
        result.written = result.new_text is not None  # written out, to stdout
    _report_file(console, result, Namespace(**{**vars(args), "diff": False}), write)
    return _migrate_summary(console, args, [result], settings, write)


def _migrate_summary(console, args: Namespace, results: list[FileResult], settings: Settings, write: bool) -> int:
    """The closing line (and with --show-fixes, the fixes per file and rule) and the exit status."""
    # a file whose write failed is reported as an error, not counted as fixed
    changed = [r for r in results if (r.written if write else r.new_text is not None)]
    remaining = [f for r in results for f in r.findings]
    errors = [r.error for r in results if r.error is not None]
    fixed = sum(len(r.fixed) for r in changed)
    verb = "Fixed" if write else "Would fix"
    if args.show_fixes and changed:
        _show_fixes(console, changed, verb, fixed)
    if not args.quiet or errors or remaining:
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
    if args.exit_zero:
        return EXIT_CLEAN
    if not write:
        return EXIT_FINDINGS if changed or errors else EXIT_CLEAN
    if args.exit_non_zero_on_fix and fixed:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if remaining or errors else EXIT_CLEAN


def _rule_names() -> dict[str, str]:
    """Each rule's name by code, from the rule index (LibCST is not loaded for it)."""
    from kerasfix import registry

    return {code: entry.get("name", "") for code, entry in registry.index()["codes"].items()}


def _show_fixes(console, changed: list[FileResult], verb: str, fixed: int) -> None:
    """--show-fixes: what was fixed, per file and rule, as Ruff lists it."""
    names = _rule_names()
    console.print(f"{verb} {fixed} finding{'s' if fixed != 1 else ''}:", highlight=False, markup=False)
    for result in changed:
        counts: dict[str, int] = {}
        for finding in result.fixed:
            counts[finding.code] = counts.get(finding.code, 0) + 1
        console.print(f"- {result.source.display if result.source else result.path}:", highlight=False, markup=False)
        for code, count in sorted(counts.items()):
            console.print(f"    {count} × {code} ({names.get(code, '')})", highlight=False, markup=False)


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
