"""Jupyter notebooks: findings located by cell, magics left alone, `migrate` touching only code-cell sources."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from conftest import check_json, cli

MERGE_IMPORT = "from keras.layers import Input, merge\n"


def write_notebook(path: Path, cells: list, *, strings: bool = False) -> dict:
    """Write a notebook; nbformat stores sources as lists of lines, `strings=True` keeps one string each."""
    notebook = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = cells
    if strings:
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        nbformat.write(notebook, str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def source_of(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def rich_code_cell(source: str, count: int) -> nbformat.NotebookNode:
    """A code cell the way Jupyter leaves it after a run: outputs of several kinds, metadata, a count."""
    return new_code_cell(
        source,
        execution_count=count,
        metadata={"tags": ["keep-me"], "collapsed": False, "scrolled": True},
        outputs=[
            new_output("stream", name="stdout", text="Epoch 1/2\nmerge([a, b], mode='concat')\n"),
            new_output("execute_result", data={"text/plain": "<KerasTensor shape=(None, 8)>"}, execution_count=count),
            new_output("display_data", data={"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="}),
        ],
    )


def test_findings_name_the_cell_and_the_line_within_it(tmp_path: Path) -> None:
    path = tmp_path / "model.ipynb"
    write_notebook(
        path,
        [
            new_markdown_cell("# Model\n\nThe old code was `c = merge([a, a], mode='concat')`.\n"),
            new_code_cell(MERGE_IMPORT + "a = Input(shape=(4,))\n"),
            new_code_cell("b = Input(shape=(4,))\nc = merge([a, b], mode='concat')\n"),
            new_markdown_cell("merge([a, b], mode='sum')\n"),
            new_code_cell("from keras.models import Model\n\n\nmodel = Model(input=[a, b],\n              output=c)"),
        ],
    )
    text = cli("check", "--no-source", "model.ipynb", cwd=tmp_path)
    assert text.returncode == 1, text.stderr
    lines = [line for line in text.stdout.splitlines() if ": KF" in line]
    assert len(lines) == 2, text.stdout  # nothing from the markdown cells
    assert lines[0].startswith("model.ipynb:cell 3:2:5: KF101 ")
    assert lines[1].startswith("model.ipynb:cell 5:4:9: KF102 ")

    findings = check_json("model.ipynb", cwd=tmp_path)
    assert [(f["code"], f["location"], f["end_location"]) for f in findings] == [
        # end_location is one past the last character, as in Ruff
        ("KF101", {"row": 2, "column": 5, "cell": 3}, {"row": 2, "column": 5 + len("merge([a, b], mode='concat')"), "cell": 3}),
        # the call spans two lines of cell 5 and ends after `output=c)`
        ("KF102", {"row": 4, "column": 9, "cell": 5}, {"row": 5, "column": 1 + len("              output=c)"), "cell": 5}),
    ]
    assert all(f["filename"] == "model.ipynb" for f in findings)


def test_source_excerpt_shows_the_line_of_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    write_notebook(path, [new_code_cell(MERGE_IMPORT), new_code_cell("x = 1\ny = merge([a, a], mode='mul')\n")])
    out = cli("check", "nb.ipynb", cwd=tmp_path).stdout
    assert "nb.ipynb:cell 2:2:5: KF101" in out
    assert "2 | y = merge([a, a], mode='mul')" in out
    caret_line = out.splitlines()[out.splitlines().index("2 | y = merge([a, a], mode='mul')") + 1]
    assert caret_line == "  |     " + "^" * len("merge([a, a], mode='mul')")


MAGIC_CELL = (
    "%matplotlib inline\n"
    "!pip install keras\n"
    "files = !ls\n"
    "model.fit?\n"
    "?Input\n"
    "%load_ext autoreload\n"
    "for name in files:\n"
    "    !echo {name}\n"
    "total = (len(files)\n"
    "         % 7)\n"  # a Python continuation line that starts with `%`: not a magic
    "same = (total\n"
    "        != 3)\n"
)


def test_magics_neither_break_parsing_nor_get_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "magic.ipynb"
    bash = "%%bash\npython -c \"from keras.layers import merge; merge([a, b], mode='concat')\"\n"
    writefile = "%%writefile helper.py\nfrom keras.layers import merge\nx = merge([a, b], mode='concat')\n"
    before = write_notebook(
        path,
        [
            new_code_cell(MERGE_IMPORT + MAGIC_CELL),
            new_code_cell("%%time\na = Input(shape=(4,))\nc = merge([a, a], mode='concat')\n"),
            new_code_cell(bash),
            new_code_cell(writefile),
            new_code_cell("%time d = merge([a, a], mode='sum')\ne = merge([d, d], mode='ave')  # after a line magic\n"),
        ],
    )
    check = cli("check", "--output-format", "json", "magic.ipynb", cwd=tmp_path)
    assert check.returncode == 1, check.stdout + check.stderr
    findings = json.loads(check.stdout)
    assert all(f["code"] is not None for f in findings), findings  # no parse error
    assert [(f["code"], f["location"]) for f in findings] == [
        ("KF101", {"row": 3, "column": 5, "cell": 2}),  # the Python body of a %%time cell is checked
        ("KF101", {"row": 2, "column": 5, "cell": 5}),
    ]

    migrate = cli("migrate", "magic.ipynb", cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    after = json.loads(path.read_text(encoding="utf-8"))
    cells = [source_of(cell) for cell in after["cells"]]
    assert cells[0] == "from keras.layers import Input, concatenate, average\n" + MAGIC_CELL
    assert cells[1] == "%%time\na = Input(shape=(4,))\nc = concatenate([a, a])\n"
    assert cells[2] == bash  # cell magics that are not Python are left exactly as they were
    assert cells[3] == writefile
    assert cells[4] == "%time d = merge([a, a], mode='sum')\ne = average([d, d])  # after a line magic\n"
    assert [cell["source"] for cell in after["cells"][2:4]] == [cell["source"] for cell in before["cells"][2:4]]
    nbformat.validate(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))


def test_magics_survive_in_cells_with_windows_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.ipynb"
    write_notebook(path, [new_code_cell("from keras.layers import merge\r\n%matplotlib inline\r\n!nvidia-smi\r\nx = merge([a, b], mode='concat')\r\n")])
    result = cli("migrate", "crlf.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    cell = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    assert source_of(cell) == "from keras.layers import concatenate\r\n%matplotlib inline\r\n!nvidia-smi\r\nx = concatenate([a, b])\r\n"
    assert "kerasfix" not in path.read_text(encoding="utf-8")


def _without_changed_sources(document: dict, changed: set[int]) -> dict:
    document = copy.deepcopy(document)
    for index in changed:
        del document["cells"][index]["source"]
    return document


def test_migrate_rewrites_only_code_cell_sources(tmp_path: Path) -> None:
    path = tmp_path / "train.ipynb"
    before = write_notebook(
        path,
        [
            new_markdown_cell("# Training\n\n`merge([a, b], mode='concat')` is Keras 1 — ünïcödé stays.\n", metadata={"id-note": 1}),
            rich_code_cell(MERGE_IMPORT + "from keras.models import Model\n", 1),
            rich_code_cell("a = Input(shape=(4,))\nb = Input(shape=(4,))\n", 2),
            new_raw_cell("merge([a, b], mode='concat')\n"),
            rich_code_cell("c = merge([a, b], mode='concat')\nmodel = Model(input=[a, b], output=c)\n", 3),
            new_code_cell("print('untouched')"),
        ],
    )
    before["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    path.write_text(json.dumps(before, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    raw_before = path.read_bytes()

    result = cli("migrate", "train.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fixed 2" in result.stdout
    after = json.loads(path.read_text(encoding="utf-8"))

    assert source_of(after["cells"][1]) == "from keras.layers import Input, concatenate\nfrom keras.models import Model\n"
    assert source_of(after["cells"][4]) == "c = concatenate([a, b])\nmodel = Model(inputs=[a, b], outputs=c)\n"
    # everything else (outputs, metadata, execution counts, ids, markdown, raw cells) is unchanged
    assert _without_changed_sources(after, {1, 4}) == _without_changed_sources(before, {1, 4})
    # list sources stay lists of lines
    assert after["cells"][4]["source"] == ["c = concatenate([a, b])\n", "model = Model(inputs=[a, b], outputs=c)\n"]
    nbformat.validate(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))

    # unchanged parts of the file keep their bytes: only the two source lines differ
    old_lines, new_lines = raw_before.decode().splitlines(), path.read_text(encoding="utf-8").splitlines()
    assert len(old_lines) == len(new_lines)
    assert [i for i, (x, y) in enumerate(zip(old_lines, new_lines)) if x != y] == [
        old_lines.index('    "from keras.layers import Input, merge\\n",'),
        old_lines.index('    "c = merge([a, b], mode=\'concat\')\\n",'),
        old_lines.index('    "model = Model(input=[a, b], output=c)\\n"'),
    ]

    raw_after = path.read_bytes()
    again = cli("migrate", "train.ipynb", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert path.read_bytes() == raw_after
    assert cli("check", "train.ipynb", cwd=tmp_path).returncode == 0


def test_import_in_one_cell_serves_a_call_in_a_later_cell(tmp_path: Path) -> None:
    path = tmp_path / "cross.ipynb"
    write_notebook(
        path,
        [
            new_code_cell("import numpy as np\nfrom keras.layers import merge, Input\n"),
            new_markdown_cell("Build the inputs."),
            new_code_cell("a = Input(shape=(3,))\n\nc = merge([a, a], mode='max', name='m')"),
        ],
    )
    findings = check_json("cross.ipynb", cwd=tmp_path)
    assert [(f["code"], f["location"]) for f in findings] == [("KF101", {"row": 3, "column": 5, "cell": 3})]

    assert cli("migrate", "cross.ipynb", cwd=tmp_path).returncode == 0
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert source_of(cells[0]) == "import numpy as np\nfrom keras.layers import maximum, Input\n"
    assert cells[1]["source"] == ["Build the inputs."]
    # the cell had no final newline and still has none
    assert source_of(cells[2]) == "a = Input(shape=(3,))\n\nc = maximum([a, a], name='m')"

    # without the import in cell 1, `merge` in cell 3 is not Keras's: nothing to report
    other = tmp_path / "other.ipynb"
    write_notebook(other, [new_code_cell("import numpy as np\n"), new_code_cell("c = merge([a, a], mode='max')\n")])
    assert check_json("other.ipynb", cwd=tmp_path) == []


@pytest.mark.parametrize("strings", [False, True], ids=["list-sources", "string-sources"])
def test_source_form_is_kept(tmp_path: Path, strings: bool) -> None:
    path = tmp_path / "form.ipynb"
    odd = ["import os\n", "x = ", "1\n", "y = 2"]  # an unusual but valid split of an untouched cell
    cells = [
        new_code_cell(MERGE_IMPORT + "a = Input(shape=(2,))\nb = merge([a, a], mode='concat')\n"),
        new_code_cell("print(b)"),
    ]
    before = write_notebook(path, cells, strings=strings)
    if not strings:
        before["cells"][1]["source"] = odd
        path.write_text(json.dumps(before, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert isinstance(before["cells"][0]["source"], list) is not strings

    assert cli("migrate", "form.ipynb", cwd=tmp_path).returncode == 0
    after = json.loads(path.read_text(encoding="utf-8"))
    expected = "from keras.layers import Input, concatenate\na = Input(shape=(2,))\nb = concatenate([a, a])\n"
    if strings:
        assert after["cells"][0]["source"] == expected
        assert after["cells"][1]["source"] == "print(b)"
    else:
        assert after["cells"][0]["source"] == expected.splitlines(keepends=True)
        assert after["cells"][1]["source"] == odd
    nbformat.validate(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))


def test_non_ascii_notebook_keeps_its_encoding_style(tmp_path: Path) -> None:
    for name, ensure_ascii in (("escaped.ipynb", True), ("utf8.ipynb", False)):
        path = tmp_path / name
        notebook = new_notebook()
        notebook.cells = [new_markdown_cell("Modèle — 模型"), new_code_cell(MERGE_IMPORT + "c = merge([a, a], mode='sum')  # café\n")]
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=ensure_ascii) + "\n", encoding="utf-8")
        assert cli("migrate", name, cwd=tmp_path).returncode == 0
        text = path.read_text(encoding="utf-8")
        assert ("Modèle" in text) is not ensure_ascii
        assert ("\\u00e8" in text) is ensure_ascii
        cells = json.loads(text)["cells"]
        assert cells[0]["source"] == "Modèle — 模型"
        assert cells[1]["source"] == "from keras.layers import Input, add\nc = add([a, a])  # café\n"


def test_broken_notebooks_are_errors_and_other_files_are_still_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x"', encoding="utf-8")
    # nbformat 3 and older keep cells under "worksheets"; there is no "cells" list at all
    (tmp_path / "old.ipynb").write_text(json.dumps({"metadata": {}, "nbformat": 3, "nbformat_minor": 0, "worksheets": []}))
    # a valid nbformat 4 notebook that happens to have no cells is fine: nothing to check
    (tmp_path / "empty.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    good = tmp_path / "good.ipynb"
    write_notebook(good, [new_code_cell(MERGE_IMPORT + "c = merge([a, a], mode='concat')\n")])
    (tmp_path / "plain.py").write_text("from keras.models import Model\nm = Model(input=x, output=y)\n")

    text = cli("check", "--no-source", ".", cwd=tmp_path)
    assert text.returncode == 1
    assert "good.ipynb:cell 1:2:5: KF101" in text.stdout
    assert "plain.py:2:5: KF102" in text.stdout
    assert "bad.ipynb: error: notebook is not valid JSON" in text.stdout
    assert "old.ipynb: error:" in text.stdout and "no cells" in text.stdout
    assert "empty.ipynb" not in text.stdout
    assert "2 files could not be checked" in text.stdout

    items = json.loads(cli("check", "--output-format", "json", ".", cwd=tmp_path).stdout)
    errors = {item["filename"]: item for item in items if item["code"] is None}
    assert set(errors) == {"bad.ipynb", "old.ipynb"}
    assert sorted(item["code"] for item in items if item["code"]) == ["KF101", "KF102"]

    migrate = cli("migrate", ".", cwd=tmp_path)
    assert migrate.returncode == 1
    assert "2 files could not be processed" in migrate.stdout
    assert "concatenate" in good.read_text() and "inputs=x" in (tmp_path / "plain.py").read_text()


def test_syntax_error_in_a_cell_is_located_in_that_cell(tmp_path: Path) -> None:
    path = tmp_path / "syntax.ipynb"
    write_notebook(path, [new_code_cell(MERGE_IMPORT), new_code_cell("x = 1\ny = merge([x, x]\n"), new_code_cell("z = 3\n")])
    result = cli("check", "syntax.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert "syntax.ipynb:cell 2:2:" in result.stdout and "syntax error" in result.stdout
    item = json.loads(cli("check", "--output-format", "json", "syntax.ipynb", cwd=tmp_path).stdout)[0]
    assert item["code"] is None and item["location"]["cell"] == 2 and item["location"]["row"] == 2


def test_diff_of_a_notebook_shows_the_real_magic_lines(tmp_path: Path) -> None:
    path = tmp_path / "diff.ipynb"
    write_notebook(path, [new_code_cell("%matplotlib inline\n" + MERGE_IMPORT + "c = merge([a, a], mode='concat')\n")])
    before = path.read_bytes()
    result = cli("migrate", "--diff", "diff.ipynb", cwd=tmp_path)
    assert path.read_bytes() == before
    assert "+c = concatenate([a, a])" in result.stdout
    assert "kerasfix-magic" not in result.stdout
    assert " %matplotlib inline" in result.stdout
