"""`kerasfix summary --output-format mermaid|dot`: each model's layer graph, drawn from the summary's
records (name, type, output shape, parameters; an edge from each layer to every layer called on it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Callable


def fmt_shape(shape) -> str:
    """An output shape as Keras prints it: `(None, 28, 28, 1)`, `(None, 10)`, `?` when unknown."""
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], list):
        return ", ".join(fmt_shape(s) for s in shape)
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def fmt_count(value) -> str:
    return "?" if value is None else f"{value:,}"


def _lines(layer: dict) -> list[str]:
    """What a layer's box says."""
    params = layer["params"]
    counted = "? params" if params is None else f"{params:,} param{'s' if params != 1 else ''}"
    return [layer["name"], layer["type"], fmt_shape(layer["output_shape"]), counted]


def _title(entry: dict, model: dict) -> str:
    return f'{entry["file"]}:{model["line"]} {model["name"]} ({model["kind"]}, {fmt_count(model["total_params"])} params)'


def _edges(model: dict) -> list[tuple[int, int]]:
    """(from, to) indices into the model's layers."""
    index: dict[str, int] = {}
    for position, layer in enumerate(model["layers"]):
        index.setdefault(layer["name"], position)
    return [
        (index[source], position)
        for position, layer in enumerate(model["layers"])
        for source in layer.get("inbound", [])
        if source in index
    ]


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: quotes and angle brackets as entity codes."""
    return text.replace("#", "#35;").replace('"', "#34;").replace("<", "#60;").replace(">", "#62;")


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class _Syntax:
    """How one diagram language writes the parts of a diagram (`{}` fields filled in order)."""

    head: str
    tail: str
    cluster: str  # id, title
    cluster_end: str
    node: str  # id, label
    edge: str  # from id, to id
    comment: str
    text: Callable[[str], str]  # escapes a label's text
    line_break: str


MERMAID = _Syntax(
    head="flowchart TD\n", tail="", cluster='  subgraph {}["{}"]\n', cluster_end="  end\n",
    node='    {}["{}"]\n', edge="    {} --> {}\n", comment="  %% {}\n", text=_mermaid_text, line_break="<br/>",
)
DOT = _Syntax(
    head='digraph kerasfix {\n  rankdir=TB;\n  node [shape=box, fontname="Helvetica"];\n', tail="}\n",
    cluster='  subgraph cluster_{} {{\n    label="{}";\n', cluster_end="  }\n",
    node='    {} [label="{}"];\n', edge="    {} -> {};\n", comment="  // {}\n", text=_dot_text, line_break="\\n",
)


def write_diagram(out: IO[str], results: list[dict], output_format: str) -> None:
    """One diagram of every model of `results` (the summary's entries), a cluster per model: Mermaid
    (GitHub renders it in a ```mermaid block) or Graphviz DOT (`dot -Tsvg` draws it)."""
    syntax = MERMAID if output_format == "mermaid" else DOT
    out.write(syntax.head)
    count = 0
    for entry in results:
        for model in entry.get("models", []):
            prefix = f"m{count}"
            count += 1
            out.write(syntax.cluster.format(prefix, syntax.text(_title(entry, model))))
            for position, layer in enumerate(model["layers"]):
                label = syntax.line_break.join(syntax.text(line) for line in _lines(layer))
                out.write(syntax.node.format(f"{prefix}_{position}", label))
            for source, target in _edges(model):
                out.write(syntax.edge.format(f"{prefix}_{source}", f"{prefix}_{target}"))
            out.write(syntax.cluster_end)
        for note in entry.get("notes", []):
            out.write(syntax.comment.format(f"{entry['file']}: {' '.join(note.split())}"))
    if not count:
        out.write(syntax.comment.format("no models found"))
    out.write(syntax.tail)
