"""One file's text checked as `kerasfix check FILE --force-exclude` would check that file (its nearest
configuration, selection, per-file ignores and `exclude`): what the language server and the flake8
plugin share, so an editor, flake8 and the command line always agree."""

from __future__ import annotations

from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

from kerasfix.findings import FileError, Finding
from kerasfix.settings import Settings
from kerasfix.source import Source


@dataclass(frozen=True)
class Options:
    """What an editor may set over the configuration file, as the command-line options of the same
    names do (`select` replaces the file's selection, `unsafe_fixes` can only turn them on)."""

    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    target: str | None = None
    unsafe_fixes: bool = False
    config: Path | None = None
    isolated: bool = False


@dataclass
class FileSettings:
    settings: Settings
    excluded: str | None = None  # why `exclude` leaves the file out (what --force-exclude prints), or None


def file_settings(path: Path, options: Options = Options()) -> FileSettings:
    """The settings `kerasfix check` uses for the file at `path`, which need not exist (an unsaved
    buffer is named after where it would be saved). Raises ConfigError for a configuration to correct."""
    from kerasfix.commands import prepare_run
    from kerasfix.runner import settings_for

    path = Path(path).absolute()
    args = Namespace(
        paths=[path],
        isolated=options.isolated,
        config=options.config,
        select=[",".join(options.select)] if options.select else None,
        extend_select=[",".join(options.extend_select)] if options.extend_select else None,
        ignore=[",".join(options.ignore)] if options.ignore else None,
        target=options.target,
        unsafe_fixes=options.unsafe_fixes or None,
        force_exclude=True,
    )
    config, settings, found = prepare_run(args)
    return FileSettings(settings_for(path, settings, config), found.skipped[0] if found.skipped else None)


def check_text(source: Source, settings: Settings, parser=None) -> tuple[list[Finding], FileError | None]:
    """Findings in a source held in memory, or why it could not be checked (never raises for a file's
    content: an internal error is reported as the file's error, as `check` reports it)."""
    from kerasfix.engine import check_source
    from kerasfix.runner import _internal

    try:
        return check_source(source, settings, parser)
    except Exception as error:  # noqa: BLE001 - reported as the file's error, as `check` does
        return [], _internal(source.display, error)
