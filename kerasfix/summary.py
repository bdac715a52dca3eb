"""`kerasfix summary`: every model's layers, output shapes and parameter counts, from source alone."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

from kerasfix.diagrams import fmt_count, fmt_shape, write_diagram
from kerasfix.files import discover
from kerasfix.findings import FileError
from kerasfix.graph import layers as L
from kerasfix.graph.edges import inbound_layers
from kerasfix.graph.model import LayerNode, ModelGraph, build_models
from kerasfix.names import ImportTable
from kerasfix.reporters import relative_name
from kerasfix.source import Source, SourceError, read_source


def summarise_source(text: str) -> list[dict]:
    """The models of a Python text as JSON-ready records, each model once. Raises ParseFailure
    (kerasfix.context) for text that does not parse, with Python's own message where it has one."""
    from kerasfix.context import parse

    module = parse(text)
    models, _ = build_models(module, ImportTable.scan(module))
    position = _lines(module)
    return [_model_record(model, position) for model in models if not model.repeat]


def _lines(module):
    from libcst.metadata import MetadataWrapper, PositionProvider

    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return lambda node: positions[node].start.line if node in positions else None


def _shape(shape):
    if shape is None:
        return None
    if isinstance(shape, list):
        return [_shape(s) for s in shape]
    return [d if isinstance(d, int) else None for d in shape]


def _layer_record(layer: LayerNode, inbound: list[LayerNode]) -> dict:
    info = layer.info
    return {
        "name": layer.name,
        "type": layer.type_name if layer.custom else L.keras_class_name(layer.type_name),
        "custom": layer.custom,
        "output_shape": _shape(info.output_shape) if info else None,
        "params": info.params if info else None,
        "trainable_params": info.trainable_params if info else None,
        "non_trainable_params": info.non_trainable_params if info else None,
        "inbound": [source.name for source in inbound],  # the layers it is called on
    }


def _model_record(model: ModelGraph, line_of) -> dict:
    total, trainable, frozen = model.params()
    inbound = inbound_layers(model)
    records = [_layer_record(layer, inbound.get(id(layer), [])) for layer in model.layers]
    return {
        "name": model.variable or model.name,
        "keras_name": model.name,
        "kind": model.kind,
        "line": line_of(model.node),
        "complete": model.complete,
        "layers": records,
        "output_shape": _shape(model.output_shape()),
        "total_params": total if model.complete else None,
        "trainable_params": trainable if model.complete else None,
        "non_trainable_params": frozen if model.complete else None,
    }


def summary(args: Namespace) -> int:
    from kerasfix.config import Config

    config = Config(root=Path.cwd().resolve())
    files = discover(args.paths or [Path(".")], config)
    results = []
    failed = False
    for path in files:
        entry = _summarise_file(path, relative_name(path), config)
        failed = failed or "error" in entry
        results.append(entry)
    if args.output_format in ("mermaid", "dot"):
        from kerasfix.reporters import write_text

        errors = [entry["error"] for entry in results if "error" in entry]
        if errors:
            write_text(_stderr_console(), [], errors, False)
        write_diagram(sys.stdout, results, args.output_format)
    elif args.output_format == "json":
        flat = [dict(model, file=entry["file"]) for entry in results for model in entry["models"]]
        errors = [{"file": e["file"], **_error_record(e["error"])} for e in results if "error" in e]
        notes = [{"file": e["file"], "note": note} for e in results for note in e["notes"]]
        json.dump({"models": flat, "errors": errors, "notes": notes}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_text(results)
    return 1 if failed else 0


def _summarise_file(path: Path, name: str, config) -> dict:
    """One file's models and notes, or its error as `check` words it (file, line, column, why)."""
    from kerasfix.context import ParseFailure

    entry: dict = {"file": name, "models": [], "notes": []}
    try:
        source = read_source(path)
    except SourceError as error:
        return {**entry, "error": FileError(name, str(error), "io", error.row, None, error.cell)}
    source.path = Path(name)
    try:
        entry["models"] = summarise_source(source.text)
    except ParseFailure as failure:
        from kerasfix.engine import _parse_error

        return {**entry, "error": _parse_error(source, failure)}
    except Exception as error:  # noqa: BLE001 - one file's failure never stops the others
        message = f"kerasfix failed on this file: {type(error).__name__}: {error}. Please report it with the file."
        return {**entry, "error": FileError(name, message, "internal")}
    for model in entry["models"]:
        custom = sorted({layer["type"] for layer in model["layers"] if layer["custom"]})
        if custom:
            names = ", ".join(f"`{name}`" for name in custom)
            whose = "its layers" if len(custom) == 1 else "their layers"
            model["note"] = (
                f"{names} {'is a layer class' if len(custom) == 1 else 'are layer classes'} this program defines: "
                f"the output shapes and parameters of {whose}, and what depends on them, are not worked out from source (`?`)"
            )
        elif not model["complete"]:
            model["note"] = "part of this model's definition could not be read statically; totals are unknown"
    if _unknowns(entry["models"]):
        hint = _migrate_first(source, name, config, entry["models"])
        if hint:
            entry["notes"].append(hint)
    return entry


def _error_record(error: FileError) -> dict:
    record = {"error": error.message, "line": error.row, "column": error.column}
    if error.cell is not None:
        record["cell"] = error.cell
    return record


def _unknowns(models: list[dict]) -> int:
    """How many figures of the tables are `?`."""
    count = 0
    for model in models:
        for layer in model["layers"]:
            count += sum(1 for key in ("output_shape", "params") if layer[key] is None)
            count += layer["name"] == "?"
        count += model["total_params"] is None
    return count


def _migrate_first(source: Source, name: str, config, models: list[dict]) -> str | None:
    """When layers are unknown because the program uses Keras 1 or 2 APIs that `migrate` rewrites
    (Keras 1 `Convolution2D(32, 3, 3)`, say), the advice to migrate before reading the summary."""
    from kerasfix import registry
    from kerasfix.engine import fix_text
    from kerasfix.settings import Settings

    enabled = registry.select(config.select, config.ignore, config.extend_select)
    try:
        fixed = fix_text(source, Settings(enabled=enabled, target=config.target, unsafe_fixes=True))
        if fixed.text == source.text:
            return None
        after = summarise_source(fixed.text)
    except Exception:  # noqa: BLE001 - the advice is a bonus; the summary stands without it
        return None
    before = _unknowns(models)
    known = before - _unknowns(after)
    if known <= 0:
        return None
    return (
        f"this program uses Keras 1/2 APIs that `summary` reads only once they are migrated: run "
        f"`kerasfix migrate {name}` first (`--diff` to preview), then `kerasfix summary` again "
        f"({known} of the {before} unknown figures above are known after migration)"
    )


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def _print_text(results: list[dict]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from kerasfix.reporters import write_text

    console = Console(highlight=False, soft_wrap=True)  # messages on one line each, as `check` prints them
    for entry in results:
        if "error" in entry:
            write_text(console, [], [entry["error"]], False)
            continue
        for model in entry["models"]:
            console.print(f'[bold]{escape(entry["file"])}:{model["line"]}[/bold]  {escape(model["name"])}  ({model["kind"]} "{escape(model["keras_name"])}")')
            table = Table()
            table.add_column("Layer (type)")
            table.add_column("Output Shape")
            table.add_column("Param #", justify="right")
            for layer in model["layers"]:
                table.add_row(escape(f'{layer["name"]} ({layer["type"]})'), fmt_shape(layer["output_shape"]), fmt_count(layer["params"]))
            console.print(table)
            console.print(f' Total params: {fmt_count(model["total_params"])}')
            console.print(f' Trainable params: {fmt_count(model["trainable_params"])}')
            console.print(f' Non-trainable params: {fmt_count(model["non_trainable_params"])}')
            if model.get("note"):
                console.print(f" [yellow]{escape(model['note'][0].upper() + model['note'][1:])}.[/yellow]")
            console.print("")
        for note in entry["notes"]:
            console.print(f"[bold]{escape(entry['file'])}[/bold]: [yellow]note:[/yellow] {escape(note)}.")
