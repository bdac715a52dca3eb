"""`kerasfix summary`: every model's layers, output shapes and parameter counts, from source alone."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

from kerasfix.files import discover
from kerasfix.graph import layers as L
from kerasfix.graph.model import LayerNode, ModelGraph, build_models
from kerasfix.names import ImportTable
from kerasfix.reporters import relative_name
from kerasfix.source import SourceError, read_source


def summarise_source(text: str) -> list[dict]:
    """The models of a Python text as JSON-ready records."""
    import libcst as cst

    module = cst.parse_module(text)
    models, _ = build_models(module, ImportTable.scan(module))
    position = _lines(module)
    return [_model_record(model, position) for model in models]


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


def _layer_record(layer: LayerNode) -> dict:
    info = layer.info
    return {
        "name": layer.name,
        "type": L.keras_class_name(layer.type_name),
        "output_shape": _shape(info.output_shape) if info else None,
        "params": info.params if info else None,
        "trainable_params": info.trainable_params if info else None,
        "non_trainable_params": info.non_trainable_params if info else None,
    }


def _model_record(model: ModelGraph, line_of) -> dict:
    total, trainable, frozen = model.params()
    layers = list(model.layers)
    if model.kind == "Functional":
        records = [_layer_record(layer) for layer in layers]
    else:
        records = [_layer_record(layer) for layer in layers]
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

    files = discover(args.paths or [Path(".")], Config(root=Path.cwd().resolve()))
    results = []
    failed = False
    for path in files:
        name = relative_name(path)
        try:
            source = read_source(path)
            models = summarise_source(source.text)
        except SourceError as error:
            results.append({"file": name, "error": str(error), "models": []})
            failed = True
            continue
        except Exception as error:  # noqa: BLE001 - one file's failure never stops the others
            results.append({"file": name, "error": f"{type(error).__name__}: {error}", "models": []})
            failed = True
            continue
        results.append({"file": name, "models": models})
    if args.format == "json":
        flat = [dict(model, file=entry["file"]) for entry in results for model in entry["models"]]
        errors = [{"file": e["file"], "error": e["error"]} for e in results if "error" in e]
        json.dump({"models": flat, "errors": errors}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_text(results)
    return 1 if failed else 0


def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], list):
        return ", ".join(_fmt_shape(s) for s in shape)
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _fmt_count(value) -> str:
    return "?" if value is None else f"{value:,}"


def _print_text(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    for entry in results:
        if "error" in entry:
            console.print(f"[bold]{entry['file']}[/bold]: [red]error:[/red] {entry['error']}")
            continue
        for model in entry["models"]:
            console.print(f'[bold]{entry["file"]}:{model["line"]}[/bold]  {model["name"]}  ({model["kind"]} "{model["keras_name"]}")')
            table = Table()
            table.add_column("Layer (type)")
            table.add_column("Output Shape")
            table.add_column("Param #", justify="right")
            for layer in model["layers"]:
                table.add_row(f'{layer["name"]} ({layer["type"]})', _fmt_shape(layer["output_shape"]), _fmt_count(layer["params"]))
            console.print(table)
            console.print(f' Total params: {_fmt_count(model["total_params"])}')
            console.print(f' Trainable params: {_fmt_count(model["trainable_params"])}')
            console.print(f' Non-trainable params: {_fmt_count(model["non_trainable_params"])}')
            if not model["complete"]:
                console.print(" [yellow]Part of this model's definition could not be read statically; totals are unknown.[/yellow]")
            console.print("")
