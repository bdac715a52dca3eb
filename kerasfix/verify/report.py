"""How `kerasfix verify` shows its results: a progress bar on stderr, then a table or JSON on stdout."""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager

from kerasfix.verify.results import (BACKEND_TOLERANCE, SKIPPED, TOLERANCE, VERIFIED, FileReport, backend_ok,
                                     model_status, summary)


class _Bar:
    def __init__(self, progress, task) -> None:
        self.progress = progress
        self.task = task

    def status(self, text: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=text)

    def file(self, name: str) -> None:
        self.status(name)

    def at(self, name: str, message: dict) -> None:
        if message.get("line"):
            self.status(f"{name} ({message.get('side')} line {message['line']})")

    def warn(self, text: str) -> None:
        """A warning on stderr, above the bar when there is one."""
        if self.progress is not None:
            from rich.markup import escape

            self.progress.console.print(f"[yellow]{escape(text)}[/yellow]")
        else:
            print(text, file=sys.stderr, flush=True)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@contextmanager
def progress(total: int):
    """A progress bar across files, on stderr (silent when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield _Bar(None, None)
        return
    bar = Progress(TextColumn("[bold]verify[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=True)
    with bar:
        yield _Bar(bar, bar.add_task("", total=total))


def _fmt_diff(value) -> str:
    if value is None:
        return "-"
    return "0" if value == 0 else f"{value:.1e}"


def _fmt_loss(losses: list) -> str:
    if not losses:
        return "-"
    first, last = losses[0], losses[-1]
    fmt = lambda v: f"{v:.4g}" if math.isfinite(v) else str(v)  # noqa: E731
    return fmt(first) if len(losses) == 1 else f"{fmt(first)} → {fmt(last)}"


def _fmt_params(record: dict) -> str:
    params = record.get("params")
    if not params:
        return "-"
    a, b = params["original"], params["migrated"]
    return f"{a:,}" if a == b else f"{a:,} → {b:,}"


def _fmt_layers(record: dict) -> str:
    layers = record.get("layers")
    if not layers:
        return "-"
    a, b = len(layers["original"]), len(layers["migrated"])
    return str(a) if a == b else f"{a} → {b}"


def _mark(value) -> str:
    return "-" if value is None else ("[green]yes[/green]" if value else "[red]no[/red]")


def _static_mark(record: dict) -> str:
    status = (record.get("static") or {}).get("status", "-")
    return {"match": "[green]match[/green]", "differs": "[yellow]differs[/yellow]"}.get(status, status)


RESULT_MARKS = {VERIFIED: "[green]OK[/green]", SKIPPED: "[yellow]SKIP[/yellow]"}


def write_text(reports: list[FileReport], info: dict, stream=None, strict: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=stream or sys.stdout, highlight=False, width=max(160, Console().width))
    table = Table(title=f"kerasfix verify — TensorFlow {info.get('tensorflow', '?')}, Keras {info.get('keras', '?')}, "
                        f"sandbox: {SANDBOX_NAMES.get(info.get('sandbox'), '?')}{_fmt_backends(info)}",
                  title_justify="left")
    for column, justify in (("File", "left"), ("Model", "left"), ("Line", "right"), ("Device", "left"),
                            ("Layers", "right"), ("Params orig → migrated", "right"), ("Shapes", "center"),
                            ("Static", "center"), ("Output diff", "right"), ("Loss first → last", "right"),
                            ("Time", "right"), ("Result", "center")):
        table.add_column(column, justify=justify, overflow="fold")
    for report in reports:
        for record in report.models:
            status = model_status(record)
            shapes = None if record.get("shapes_match") is None else bool(record["shapes_match"] and record.get("params_match"))
            table.add_row(
                escape(report.file), escape(record["name"]), str(record.get("line") or "-"),
                record.get("device", "-").lstrip("/"), _fmt_layers(record), _fmt_params(record), _mark(shapes),
                _static_mark(record), _fmt_diff(record.get("max_output_diff")), _fmt_loss(record.get("loss", [])),
                f"{record.get('time') or 0:.1f}s", RESULT_MARKS.get(status, "[red]FAIL[/red]"),
            )
        if not report.models:
            table.add_row(escape(report.file), "-", "-", "-", "-", "-", "-", "-", "-", "-", f"{report.time:.1f}s",
                          "[red]FAIL[/red]" if not report.ok else "[yellow]SKIP[/yellow]" if report.errors else "[yellow]none[/yellow]")
    console.print(table)
    details: list[str] = []
    for report in reports:
        for record in report.models:
            prefix = f"{report.file}:{record.get('line') or '?'} {record['name']}"
            if record.get("skip"):
                details.append(f"[yellow]{escape(prefix)}[/yellow]: skipped: {escape(record['skip']['message'])}")
            elif record.get("error"):
                details.append(f"[red]{escape(prefix)}[/red]: {_error_text(record['error'])}")
            details.extend(_problems(escape(prefix), record, TOLERANCE))
            details.extend(_backend_lines(record, prefix))
            for note in record.get("notes", []):
                details.append(f"[dim]{escape(prefix)}: {escape(note)}[/dim]")
            for difference in (record.get("static") or {}).get("differences", []):
                details.append(f"[yellow]{escape(prefix)}[/yellow]: static summary: {escape(difference)}")
        for error in report.errors:
            if error.get("skip"):
                details.append(f"[yellow]{escape(report.file)}[/yellow]: skipped: {escape(error['skip']['message'])}")
            else:
                details.append(f"[red]{escape(report.file)}[/red]: {_error_text(error)}")
        for note in report.notes:
            details.append(f"[dim]{escape(report.file)}: {escape(note)}[/dim]")
    for line in details:
        console.print(line)
    console.print(escape(summary(reports, strict)["line"]))


def _fmt_backends(info: dict) -> str:
    """The other backends' versions, for the title (`verify --backend`)."""
    extra = info.get("backends") or {}
    return "".join(f", {key} {(found or {}).get(key, '?')}" for key, found in extra.items() if key != "tf-keras")


def _backend_lines(record: dict, prefix: str) -> list[str]:
    """One line per backend other than TensorFlow: how close its outputs came, its losses, or what failed."""
    from rich.markup import escape

    lines = []
    for backend, entry in (record.get("backends") or {}).items():
        if backend == "tensorflow":
            continue
        head = f"{escape(prefix)} on {backend}"
        if backend_ok(backend, entry):
            lines.append(f"[dim]{head}: outputs within {_fmt_diff(entry['max_output_diff'])} of TensorFlow's, "
                         f"loss {_fmt_loss(entry.get('loss', []))}[/dim]")
            continue
        if entry.get("error"):
            lines.append(f"[red]{head}[/red]: {_error_text(entry['error'])}")
        lines.extend(_problems(head, entry, BACKEND_TOLERANCE, " from TensorFlow's"))
    return lines


def _problems(head: str, found: dict, tolerance: float, against: str = "") -> list[str]:
    """A model's (or one backend's) differences, and its outputs when they differ beyond `tolerance`."""
    from rich.markup import escape

    lines = [f"[red]{head}[/red]: {escape(difference)}" for difference in found.get("differences", [])]
    diff = found.get("max_output_diff")
    if diff is not None and diff > tolerance:
        lines.append(f"[red]{head}[/red]: outputs differ{against} by up to {diff:.3g} on the same batch and weights "
                     f"(tolerance {tolerance:g})")
    return lines


def _error_text(error: dict) -> str:
    from rich.markup import escape

    where = ""
    if error.get("line"):
        side = error.get("side")
        where = f" (line {error['line']}{' of the migrated program' if side == 'migrated' else ''})"
    text = f"{escape(error.get('type', 'Error'))}: {escape(error.get('message', ''))}{where}"
    if error.get("source"):
        text += f"\n    {escape(error['source'])}"
    return text


SANDBOX_NAMES = {"bwrap": "bubblewrap", "unshare": "unshare", "python": "Python guards only"}

JSON_KEYS = ("file", "name", "line", "built", "shapes_match", "params_match", "max_output_diff", "trained", "loss",
             "device", "error")


def to_json(reports: list[FileReport], info: dict, strict: bool = False) -> dict:
    models = []
    for report in reports:
        for record in report.models:
            item = {key: record.get(key) for key in JSON_KEYS}
            item["status"] = model_status(record)
            item["verified"] = item["status"] == VERIFIED
            item["skip"] = record.get("skip")
            item["oracle"] = record.get("oracle")
            item["backends"] = record.get("backends")
            item["params"] = record.get("params")
            item["static"] = record.get("static")
            item["differences"] = record.get("differences", [])
            item["notes"] = record.get("notes", [])
            item["time"] = record.get("time")
            models.append(item)
    errors = [dict(error, file=report.file) for report in reports for error in report.errors]
    notes = [{"file": report.file, "note": note} for report in reports for note in report.notes]
    return {"device": info.get("device"), "sandbox": info.get("sandbox"), "tensorflow": info.get("tensorflow"), "keras": info.get("keras"),
            "worker_startup_seconds": info.get("startup"), "backends": info.get("backends"), "models": models,
            "errors": errors, "notes": notes,
            "summary": summary(reports, strict)}


def write_json(stream, reports: list[FileReport], info: dict, strict: bool = False) -> None:
    json.dump(to_json(reports, info, strict), stream, indent=2, default=str)
    stream.write("\n")
