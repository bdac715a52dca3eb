"""Notebook findings in `github` and `sarif` output point into the notebook file as it is: the line of
its JSON text that holds the cell's source line, and the column where that JSON string spells the
character (issue 14, point 6). The message still names the cell, and the line and column within it.

Notebooks come as nbformat writes them (a cell's source is a list, one indented JSON line per source
line) and as one string per cell (every source line of a cell on one JSON line, joined by `\\n` escapes,
here with ASCII escapes for non-ASCII characters, which shift the columns).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import cli

CELLS = [
    new_markdown_cell("# A model\n\nThe old code said `merge([a, b], mode='concat')`.\n"),
    new_code_cell("from keras.layers import Input, merge\nfrom keras.models import Model\n\na = Input(shape=(4,))\n"),
    # a tab and a non-ASCII character before the finding: escapes in the JSON text (`\t`, `\u00e9`)
    new_code_cell("b = Input(shape=(4,))\nlabel = 'caf\u00e9'\t# \"quoted\"\nc = merge([a, b], mode='concat')\n"),
    new_code_cell("model = Model(input=[a, b],\n              output=c)"),
]
MERGE = "merge([a, b], mode='concat')"


def _write(path: Path, layout: str, cells: list = CELLS) -> str:
    notebook = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = cells
    if layout == "nbformat":
        nbformat.write(notebook, str(path))
    else:
        document = json.loads(nbformat.writes(notebook))
        for cell in document["cells"]:
            cell["source"] = "".join(cell["source"])
        path.write_text(json.dumps(document, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    return path.read_text(encoding="utf-8")


def _json_string_text(line: str, start: int, end: int | None = None) -> str:
    """The source text a stretch of one line of JSON spells (1-based start and exclusive end columns)."""
    stretch = line[start - 1 : None if end is None else end - 1]
    return json.loads('"' + stretch.split('"')[0] + '"') if end is None else json.loads(f'"{stretch}"')


def _annotations(text: str) -> list[dict]:
    items = []
    for line in text.splitlines():
        match = re.match(r"::error (?P<properties>[^:]*)::(?P<message>.*)", line)
        assert match, line
        properties = dict(part.split("=", 1) for part in match["properties"].split(","))
        items.append({**properties, "message": match["message"]})
    return items


@pytest.mark.parametrize("layout", ["nbformat", "one-string"])
def test_github_annotations_point_at_the_notebook_file_lines(tmp_path: Path, layout: str) -> None:
    raw = _write(tmp_path / "model.ipynb", layout).splitlines()
    result = cli("check", "--isolated", "--output-format", "github", "model.ipynb", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    annotations = {item["title"]: item for item in _annotations(result.stdout)}
    merge, model = annotations["kerasfix (KF101)"], annotations["kerasfix (KF102)"]

    line, column = int(merge["line"]), int(merge["col"])
    end_line, end_column = int(merge["endLine"]), int(merge["endColumn"])
    assert end_line == line
    # the annotated stretch of the file spells exactly the call the finding is about
    assert _json_string_text(raw[line - 1], column, end_column) == MERGE
    assert "(cell 3, line 3, column 5)" in merge["message"]

    line, column = int(model["line"]), int(model["col"])
    end_line, end_column = int(model["endLine"]), int(model["endColumn"])
    assert _json_string_text(raw[line - 1], column).startswith("Model(input=[a, b],")
    if layout == "nbformat":  # one JSON line per source line: the call's two lines are two file lines
        assert end_line == line + 1
        assert _json_string_text(raw[end_line - 1], raw[end_line - 1].index('"') + 2, end_column) == "              output=c)"
    else:
        assert end_line == line
        assert raw[line - 1][: end_column - 1].endswith("output=c)")
    assert "(cell 4, line 1, column 9)" in model["message"]


@pytest.mark.parametrize("layout", ["nbformat", "one-string"])
def test_sarif_regions_point_at_the_notebook_file_lines(tmp_path: Path, layout: str) -> None:
    raw = _write(tmp_path / "model.ipynb", layout).splitlines()
    result = cli("check", "--isolated", "--output-format", "sarif", "model.ipynb", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    results = {item["ruleId"]: item for item in json.loads(result.stdout)["runs"][0]["results"]}
    merge = results["KF101"]
    region = merge["locations"][0]["physicalLocation"]["region"]
    assert region["endLine"] == region["startLine"]
    assert _json_string_text(raw[region["startLine"] - 1], region["startColumn"], region["endColumn"]) == MERGE
    assert "(notebook cell 3, line 3, column 5)" in merge["message"]["text"]
    region = results["KF102"]["locations"][0]["physicalLocation"]["region"]
    assert _json_string_text(raw[region["startLine"] - 1], region["startColumn"]).startswith("Model(input=")


def test_the_json_format_keeps_cell_locations(tmp_path: Path) -> None:
    _write(tmp_path / "model.ipynb", "nbformat")
    result = cli("check", "--isolated", "--output-format", "json", "model.ipynb", cwd=tmp_path)
    merge = next(item for item in json.loads(result.stdout) if item["code"] == "KF101")
    assert merge["location"] == {"row": 3, "column": 5, "cell": 3}


@pytest.mark.parametrize("layout", ["nbformat", "one-string"])
def test_a_syntax_error_in_a_cell_points_at_its_file_line(tmp_path: Path, layout: str) -> None:
    cells = [new_code_cell("import keras\n"), new_code_cell("x = 1\nprint 'hello'\n")]
    raw = _write(tmp_path / "broken.ipynb", layout, cells).splitlines()

    result = cli("check", "--isolated", "--output-format", "github", "broken.ipynb", cwd=tmp_path)
    (annotation,) = _annotations(result.stdout)
    line, column = int(annotation["line"]), int(annotation["col"])
    assert _json_string_text(raw[line - 1], column).startswith("print 'hello'")
    assert "(cell 2, line 2, column 1)" in annotation["message"]

    result = cli("check", "--isolated", "--output-format", "sarif", "broken.ipynb", cwd=tmp_path)
    (notification,) = json.loads(result.stdout)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    region = notification["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (line, column)
    assert "(notebook cell 2, line 2, column 1)" in notification["message"]["text"]
