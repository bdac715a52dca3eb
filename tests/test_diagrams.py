"""`kerasfix summary --output-format mermaid|dot`: each model's layer graph from source, with its
branches and merges as edges; the DOT output is rendered by Graphviz itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix

TWO_BRANCH = ROOT / "fixtures" / "models" / "two_branch_cnn.py"
# the same tutorial model written for Keras 1 (merge(mode='concat')), as `migrate` leaves it
TWO_BRANCH_MIGRATED = ROOT / "fixtures" / "functional" / "two_branch_cnn.fixed.py"

# (name, type, output shape, parameters) of each layer, and who feeds whom, as Keras's
# model.summary() and plot_model() show the two-branch tutorial model
TWO_BRANCH_LAYERS = {
    "input_layer": ("InputLayer", "(None, 28, 28, 1)", "0 params"),
    "conv2d": ("Conv2D", "(None, 24, 24, 32)", "832 params"),
    "conv2d_1": ("Conv2D", "(None, 22, 22, 16)", "800 params"),
    "max_pooling2d": ("MaxPooling2D", "(None, 12, 12, 32)", "0 params"),
    "max_pooling2d_1": ("MaxPooling2D", "(None, 11, 11, 16)", "0 params"),
    "flatten": ("Flatten", "(None, 4608)", "0 params"),
    "flatten_1": ("Flatten", "(None, 1936)", "0 params"),
    "concatenate": ("Concatenate", "(None, 6544)", "0 params"),
    "dense": ("Dense", "(None, 10)", "65,450 params"),
    "dense_1": ("Dense", "(None, 1)", "11 params"),
}
TWO_BRANCH_EDGES = {
    ("input_layer", "conv2d"), ("input_layer", "conv2d_1"),  # the branches
    ("conv2d", "max_pooling2d"), ("conv2d_1", "max_pooling2d_1"),
    ("max_pooling2d", "flatten"), ("max_pooling2d_1", "flatten_1"),
    ("flatten", "concatenate"), ("flatten_1", "concatenate"),  # the merge
    ("concatenate", "dense"), ("dense", "dense_1"),
}


def _mermaid_graph(text: str) -> tuple[dict[str, list[str]], set[tuple[str, str]], list[str]]:
    """Nodes (id -> label lines), edges (by id) and subgraph titles of a Mermaid flowchart."""
    assert text.startswith("flowchart TD\n")
    nodes = {m.group(1): m.group(2).split("<br/>") for m in re.finditer(r'^    (\w+)\["([^"]*)"\]$', text, re.M)}
    edges = {(m.group(1), m.group(2)) for m in re.finditer(r"^    (\w+) --> (\w+)$", text, re.M)}
    titles = re.findall(r'^  subgraph \w+\["([^"]*)"\]$', text, re.M)
    assert text.count("  subgraph ") == text.count("\n  end\n")
    return nodes, edges, titles


def _dot_graph(text: str) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    nodes = {m.group(1): m.group(2).split("\\n") for m in re.finditer(r'^    (\w+) \[label="((?:[^"\\]|\\.)*)"\];$', text, re.M)}
    edges = {(m.group(1), m.group(2)) for m in re.finditer(r"^    (\w+) -> (\w+);$", text, re.M)}
    return nodes, edges


def _by_name(nodes: dict[str, list[str]], edges: set[tuple[str, str]]) -> tuple[dict, set]:
    names = {node: label[0] for node, label in nodes.items()}
    return {label[0]: tuple(label[1:]) for label in nodes.values()}, {(names[a], names[b]) for a, b in edges}


@pytest.mark.parametrize("program", [TWO_BRANCH, TWO_BRANCH_MIGRATED], ids=["tutorial", "migrated-keras1"])
def test_mermaid_draws_the_two_branch_model(program: Path) -> None:
    result = run_kerasfix("summary", "--output-format", "mermaid", str(program))
    assert result.returncode == 0, result.stderr
    nodes, edges, titles = _mermaid_graph(result.stdout)
    layers, named_edges = _by_name(nodes, edges)
    assert layers == TWO_BRANCH_LAYERS
    assert named_edges == TWO_BRANCH_EDGES
    assert len(titles) == 1 and titles[0].endswith("model (Functional, 67,093 params)")


def test_dot_draws_the_same_graph_and_graphviz_renders_it() -> None:
    result = run_kerasfix("summary", "--output-format", "dot", str(TWO_BRANCH))
    assert result.returncode == 0, result.stderr
    nodes, edges = _dot_graph(result.stdout)
    layers, named_edges = _by_name(nodes, edges)
    assert layers == TWO_BRANCH_LAYERS
    assert named_edges == TWO_BRANCH_EDGES
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` is not installed (CI installs the graphviz package)")
    svg = subprocess.run(["dot", "-Tsvg"], input=result.stdout, capture_output=True, text=True, timeout=120)
    assert svg.returncode == 0, svg.stderr
    assert "<svg" in svg.stdout
    drawn = set(re.findall(r"<title>(\w+)&#45;&gt;(\w+)</title>", svg.stdout))
    assert drawn == edges  # every edge was laid out
    for name in TWO_BRANCH_LAYERS:
        assert f">{name}</text>" in svg.stdout


def test_a_sequential_model_is_a_chain_and_every_model_is_drawn(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(
        "from keras import Input, Sequential\n"
        "from keras.layers import Dense, Dropout, Add\n"
        "from keras.models import Model\n"
        "classifier = Sequential([Input(shape=(16,)), Dense(32, name='hidden'), Dropout(0.5), Dense(3, name='say \"hi\" <b>')])\n"
        "x = Input(shape=(8,))\n"
        "y = Dense(8)(x)\n"
        "residual = Model(x, Add()([x, y]))\n",
        encoding="utf-8",
    )
    mermaid = run_kerasfix("summary", "--output-format", "mermaid", "models.py", cwd=tmp_path)
    assert mermaid.returncode == 0, mermaid.stderr
    nodes, edges, titles = _mermaid_graph(mermaid.stdout)
    assert [title.split(" ", 1)[1] for title in titles] == [
        "classifier (Sequential, 643 params)", "residual (Functional, 72 params)",
    ]
    layers, named_edges = _by_name(nodes, edges)
    quoted = "say #34;hi#34; #60;b#62;"  # quotes and angle brackets as Mermaid entity codes
    assert layers[quoted] == ("Dense", "(None, 3)", "99 params")
    assert {("hidden", "dropout"), ("dropout", quoted)} <= named_edges
    # the Sequential's Input took the name input_layer, as in Keras
    assert {("input_layer_1", "dense"), ("input_layer_1", "add"), ("dense", "add")} <= named_edges  # the skip connection
    dot = run_kerasfix("summary", "--output-format", "dot", "models.py", cwd=tmp_path)
    assert dot.stdout.count("subgraph cluster_") == 2
    assert 'label="say \\"hi\\" <b>\\nDense' in dot.stdout
    if shutil.which("dot") is not None:
        rendered = subprocess.run(["dot", "-Tsvg"], input=dot.stdout, capture_output=True, text=True, timeout=120)
        assert rendered.returncode == 0 and "say &quot;hi&quot; &lt;b&gt;" in rendered.stdout


def test_json_names_each_layers_inbound_layers() -> None:
    result = run_kerasfix("summary", "--output-format", "json", str(TWO_BRANCH))
    model = json.loads(result.stdout)["models"][0]
    inbound = {layer["name"]: layer["inbound"] for layer in model["layers"]}
    assert inbound["concatenate"] == ["flatten", "flatten_1"]
    assert inbound["input_layer"] == []
    assert {(source, name) for name, sources in inbound.items() for source in sources} == TWO_BRANCH_EDGES


def test_diagrams_are_drawn_without_tensorflow_or_keras() -> None:
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kerasfix", "summary", "--output-format", "dot", str(TWO_BRANCH)],
        env=environment, capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in result.stderr.splitlines() if line.startswith("import time:") and "|" in line}
    assert "libcst" in imported  # the measurement worked
    assert not imported & {"tensorflow", "keras", "jax", "torch"}
