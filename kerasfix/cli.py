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


class _DeprecatedFormat(argparse.Action):
    """`--format`, the old name of `--output-format`: still accepted, with a warning."""

    def __call__(self, parser, namespace, values, option_string=None):
        print("kerasfix: warning: `--format` is deprecated; use `--output-format`", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _output_format(parser: argparse.ArgumentParser, choices: tuple[str, ...], deprecated_alias: bool = False) -> None:
    parser.add_argument("--output-format", choices=choices, default="text", help="how to print the results (default: text)")
    if deprecated_alias:
        parser.add_argument("--format", dest="output_format", choices=choices, action=_DeprecatedFormat, help=argparse.SUPPRESS)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, default=None, help="files or directories (default: .); `-` reads the program from stdin")
    parser.add_argument("--stdin-filename", type=Path, default=None, metavar="PATH",
                        help="the name of the program read from stdin: for configuration, per-file ignores and messages")
    parser.add_argument("--output-file", "-o", type=Path, default=None, metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("--select", action="append", default=None, metavar="CODES", help="rule codes, prefixes or names to enable (comma-separated); replaces the default set")
    parser.add_argument("--extend-select", action="append", default=None, metavar="CODES", help="rule codes, prefixes or names to enable in addition")
    parser.add_argument("--ignore", action="append", default=None, metavar="CODES", help="rule codes, prefixes or names to disable")
    parser.add_argument("--target", choices=("tf.keras", "keras", "portable"), default=None, help="import style for new imports when the file has none of its own (default: tf.keras); portable: keras imports, and TensorFlow calls in model code rewritten to keras.ops (KF5xx)")
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
    _output_format(check, ("text", "json", "sarif", "github"))
    check.add_argument("--unsafe-fixes", action="store_true", default=None, help="count unsafe fixes as fixable in the report")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--statistics", action="store_true", help="print the number of findings of each rule instead of the findings")
    check.add_argument("--add-noqa", action="store_true", help="add `# noqa: CODE` to every line with a finding (in place) and report how many")
    check.add_argument("--watch", action="store_true", help="check again whenever a file changes (until Ctrl-C)")
    check.add_argument("--no-source", action="store_true", help="do not show source lines in text output")
    check.add_argument("--jobs", "-j", type=_jobs, default=None, help="worker processes (default: one per core)")

    migrate = commands.add_parser("migrate", help="rewrite legacy Keras code in place")
    _common(migrate)
    migrate.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply fixes that may change behaviour")
    migrate.add_argument("--diff", action="store_true", help="print a unified diff of the changes and write nothing")
    migrate.add_argument("--check", action="store_true", help="write nothing; exit 1 when anything would change")
    migrate.add_argument("--show-fixes", action="store_true", help="list the fixes applied, per file and rule")
    exits = migrate.add_mutually_exclusive_group()
    exits.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    exits.add_argument("--exit-non-zero-on-fix", action="store_true", help="exit 1 when anything was fixed, even if nothing remains")
    migrate.add_argument("--jobs", "-j", type=_jobs, default=None, help="worker processes (default: one per core)")

    summary = commands.add_parser("summary", help="show each model's layers, shapes and parameter counts, from source")
    summary.add_argument("paths", nargs="*", type=Path, default=None)
    _output_format(summary, ("text", "json", "mermaid", "dot"), deprecated_alias=True)

    verify = commands.add_parser("verify", help="build each model before and after migration, compare them and train a few steps (needs TensorFlow)")
    verify.add_argument("paths", nargs="*", type=Path, default=None)
    verify.add_argument("--steps", type=int, default=2, help="training steps per model (default: 2)")
    verify.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help="where models train (default: a GPU when TensorFlow sees one)")
    _output_format(verify, ("text", "json"), deprecated_alias=True)
    verify.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per-file limit; a program still running is stopped (default: 120)")
    verify.add_argument("--unsafe-fixes", action=argparse.BooleanOptionalAction, default=True, help="migrate with unsafe fixes too (default: on)")
    verify.add_argument("--memory-limit", type=float, default=8.0, metavar="GB", help="address-space limit of the worker on CPU (default: 8; 0 for none)")
    verify.add_argument("--sandbox", choices=("auto", "os", "python"), default="auto",
                        help="isolate programs with bubblewrap or unshare (os), Python-level guards only (python), or os where it works (auto, the default)")
    verify.add_argument("--data", type=Path, default=None, metavar="DIR", help="where to look for data files a program reads and verify cannot find")
    verify.add_argument("--backend", default="tensorflow", metavar="NAMES",
                        help="Keras backends to build the migrated program on, comma-separated: tensorflow, jax, torch "
                             "(default: tensorflow, always built: the others are compared with it)")
    verify.add_argument("--oracle", choices=("auto", "compat", "tf-keras"), default="auto",
                        help="what builds the original: tf-keras (the real Keras 2) for Keras 2 code, the compatibility layer "
                             "for Keras 1 code (auto, the default); compat always; tf-keras: as auto, and an error if it is not installed")
    verify.add_argument("--call", action="append", default=None, metavar="EXPRESSION",
                        help="how to call a builder that needs arguments, e.g. 'ResNet50(weights=None, classes=10)' (repeatable; "
                             "a call naming a function a file does not define is ignored for that file)")
    verify.add_argument("--path", action="append", type=Path, default=None, metavar="DIR",
                        help="a source root whose packages and modules the programs import, migrated alike (repeatable)")
    verify.add_argument("--strict", action="store_true", help="count a skipped model (missing package, data only you have) as a failure")
    verify.epilog = "Arguments after `--` are passed to every program (sys.argv[1:]): kerasfix verify train.py -- --epochs 1 data/"

    commands.add_parser("clean", help="remove the cache (.kerasfix_cache)")
    rules = commands.add_parser("rules", help="list every rule")
    _output_format(rules, ("text", "json"))
    explain = commands.add_parser("explain", help="show a rule's documentation and examples")
    explain.add_argument("code", help="a rule's code (KF101) or name (legacy-merge)")
    commands.add_parser("server", help="run the language server on stdin/stdout (for editors; needs the server extra)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    program_args = None
    if argv[:1] == ["verify"] and "--" in argv:  # `verify FILE -- ARGS...`: the program's own arguments
        program_args = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    args = parser.parse_args(argv)
    if args.command == "verify":
        args.program_args = program_args
        args.format = args.output_format  # the verify command's name for it
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command in ("check", "migrate", "summary"):
        _collect_less()
    try:
        return _run(args)
    except BrokenPipeError:
        # the reader stopped early (`kerasfix check --output-format json | head`): end quietly, and keep
        # Python from complaining again when it flushes stdout at exit
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file descriptor: nothing will flush into the pipe
            pass
        return EXIT_FINDINGS


def _collect_less() -> None:
    """Fewer runs of Python's cycle collector. A parse makes a node object for every token and
    space of the file, and the collector, run every 700 new objects, walks the young ones each time
    and the old ones every so often: a fifth of a large file's parse and analysis. The trees hold no
    reference cycles, so what they free is freed as soon as it is dropped; the collector still
    runs, every 100,000 new objects. (Worker processes are forked, and keep this.)"""
    import gc

    gc.set_threshold(100_000, 50, 100)


def _run(args: argparse.Namespace) -> int:
    from kerasfix.config import ConfigError
    from kerasfix.files import PathError
    from kerasfix.ruledata import CatalogueError

    try:
        if args.command == "rules":
            return _rules(args.output_format)
        if args.command == "explain":
            return _explain(args.code)
        if args.command == "verify":
            from kerasfix.verify.command import verify

            return verify(args)
        if args.command == "summary":
            from kerasfix.summary import summary

            return summary(args)
        if args.command == "server":
            return _server()
        from kerasfix import commands

        return getattr(commands, args.command)(args)
    except (ConfigError, PathError, UsageError, CatalogueError) as error:
        print(f"kerasfix: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kerasfix: interrupted", file=sys.stderr)
        return 130


def _rules(output_format: str) -> int:
    from kerasfix import registry

    specs = registry.all_specs()
    if output_format == "json":
        import json

        records = [
            {"code": code, "name": spec.name, "fix_safety": spec.fix_safety, "default": spec.default_enabled, "summary": spec.summary}
            for code, spec in specs.items()
        ]
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_CLEAN
    header = ("Code", "Name", "Fix", "Default", "Summary")
    rows = [(code, spec.name, spec.fix_safety, "on" if spec.default_enabled else "off", spec.summary) for code, spec in specs.items()]
    if not sys.stdout.isatty():
        # piped or redirected: one line per rule, columns padded with spaces, nothing wrapped or drawn
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
        for row in [header, *rows]:
            sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] + "\n")
        return EXIT_CLEAN
    from rich.console import Console
    from rich.table import Table

    table = Table(title="kerasfix rules", show_lines=False)
    for column in header:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(width=max(140, _terminal_width())).print(table)
    return EXIT_CLEAN


def _explain(code: str) -> int:
    from kerasfix import registry

    spec = registry.all_specs().get(code.upper()) or registry.all_specs().get(registry.code_of(code) or "")
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


def _server() -> int:
    try:
        from kerasfix.server import serve
    except ModuleNotFoundError as error:
        if error.name not in ("pygls", "lsprotocol"):
            raise
        raise UsageError(
            f"`kerasfix server` needs pygls and lsprotocol ({error.name} is not installed): "
            "install kerasfix with its `server` extra, e.g. `pip install '.[server]'` in a kerasfix checkout"
        ) from None
    return serve()


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100
