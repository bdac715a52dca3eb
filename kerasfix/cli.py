"""Command-line interface: argument parsing and exit codes; the work is done elsewhere."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kerasfix import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own exit code for usage errors is 2 as well
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"kerasfix: error: {message}\n")


def _jobs(text: str) -> int:
    """--jobs: a number of worker processes, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of processes, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, default=None, help="files or directories (default: .)")
    parser.add_argument("--select", action="append", default=None, metavar="CODES", help="rule codes or prefixes to enable (comma-separated); replaces the default set")
    parser.add_argument("--extend-select", action="append", default=None, metavar="CODES", help="rule codes or prefixes to enable in addition")
    parser.add_argument("--ignore", action="append", default=None, metavar="CODES", help="rule codes or prefixes to disable")
    parser.add_argument("--target", choices=("tf.keras", "keras"), default=None, help="import style for new imports when the file has none of its own (default: tf.keras)")
    parser.add_argument("--config", type=Path, default=None, help="a pyproject.toml to read [tool.kerasfix] from (default: the nearest one)")
    parser.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    parser.add_argument("--force-exclude", action="store_true", help="apply `exclude` to files named on the command line too (as pre-commit hooks need)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only findings and errors")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kerasfix", description="Lint and migrate Keras code to Keras 3.")
    parser.add_argument("--version", action="version", version=f"kerasfix {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="report legacy and invalid Keras code")
    _common(check)
    check.add_argument("--output-format", choices=("text", "json", "sarif", "github"), default="text")
    check.add_argument("--unsafe-fixes", action="store_true", default=None, help="count unsafe fixes as fixable in the report")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--no-source", action="store_true", help="do not show source lines in text output")
    check.add_argument("--jobs", "-j", type=_jobs, default=None, help="worker processes (default: one per core)")

    migrate = commands.add_parser("migrate", help="rewrite legacy Keras code in place")
    _common(migrate)
    migrate.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply fixes that may change behaviour")
    migrate.add_argument("--diff", action="store_true", help="print a unified diff of the changes and write nothing")
    migrate.add_argument("--check", action="store_true", help="write nothing; exit 1 when anything would change")
    migrate.add_argument("--jobs", "-j", type=_jobs, default=None, help="worker processes (default: one per core)")

    summary = commands.add_parser("summary", help="show each model's layers, shapes and parameter counts, from source")
    summary.add_argument("paths", nargs="*", type=Path, default=None)
    summary.add_argument("--format", choices=("text", "json"), default="text")

    verify = commands.add_parser("verify", help="build each model before and after migration, compare them and train a few steps (needs TensorFlow)")
    verify.add_argument("paths", nargs="*", type=Path, default=None)
    verify.add_argument("--steps", type=int, default=2, help="training steps per model (default: 2)")
    verify.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help="where models train (default: a GPU when TensorFlow sees one)")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per-file limit; a program still running is stopped (default: 120)")
    verify.add_argument("--unsafe-fixes", action=argparse.BooleanOptionalAction, default=True, help="migrate with unsafe fixes too (default: on)")
    verify.add_argument("--memory-limit", type=float, default=8.0, metavar="GB", help="address-space limit of the worker on CPU (default: 8; 0 for none)")
    verify.add_argument("--sandbox", choices=("auto", "os", "python"), default="auto",
                        help="isolate programs with bubblewrap or unshare (os), Python-level guards only (python), or os where it works (auto, the default)")

    commands.add_parser("clean", help="remove the cache (.kerasfix_cache)")
    commands.add_parser("rules", help="list every rule")
    explain = commands.add_parser("explain", help="show a rule's documentation and examples")
    explain.add_argument("code")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from kerasfix.config import ConfigError
    from kerasfix.files import PathError
    from kerasfix.ruledata import CatalogueError

    try:
        if args.command == "rules":
            return _rules()
        if args.command == "explain":
            return _explain(args.code)
        if args.command == "verify":
            from kerasfix.verify.command import verify

            return verify(args)
        if args.command == "summary":
            from kerasfix.summary import summary

            return summary(args)
        from kerasfix import commands

        return getattr(commands, args.command)(args)
    except (ConfigError, PathError, UsageError, CatalogueError) as error:
        print(f"kerasfix: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kerasfix: interrupted", file=sys.stderr)
        return 130


def _rules() -> int:
    from rich.console import Console
    from rich.table import Table

    from kerasfix import registry

    table = Table(title="kerasfix rules", show_lines=False)
    for column in ("Code", "Name", "Fix", "Default", "Summary"):
        table.add_column(column, overflow="fold")
    for code, spec in registry.all_specs().items():
        table.add_row(code, spec.name, spec.fix_safety, "on" if spec.default_enabled else "off", spec.summary)
    Console(width=max(140, _terminal_width())).print(table)
    return EXIT_CLEAN


def _explain(code: str) -> int:
    from kerasfix import registry

    spec = registry.all_specs().get(code.upper())
    if spec is None:
        print(f"kerasfix: error: no rule {code!r} (see `kerasfix rules`)", file=sys.stderr)
        return EXIT_USAGE
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console()
    if console.is_terminal:
        console.print(Markdown(spec.explanation()))
    else:
        sys.stdout.write(spec.explanation())
    return EXIT_CLEAN


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100
