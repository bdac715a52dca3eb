"""Odd inputs through the CLI: empty and comment-only files, tabs, mixed line endings, a very large
file, undecodable and binary `.py` files, Python 2 syntax, broken notebooks, notebooks with magics,
missing paths and links out of the tree. Each is reported clearly or handled, and nothing is lost.

Cases already covered elsewhere (CRLF, BOM and coding cookies, permissions, read-only files, a plain
syntax error, a symlinked file, a missing path for `migrate`, invalid JSON and old notebooks) are in
test_migrate.py and test_notebooks.py.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import LEGACY, MIGRATED, ROOT, cli, shown


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _good_file(directory: Path) -> Path:
    good = directory / "good.py"
    good.write_text(LEGACY)
    return good


def test_empty_file_is_clean_and_left_alone(tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.py"
    blank.write_bytes(b"\n")
    for args in (("check", "--no-cache"), ("migrate",), ("migrate", "--check")):
        result = cli(*args, str(empty), str(blank))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "error" not in result.stdout.lower() and not result.stderr
    assert empty.read_bytes() == b"" and blank.read_bytes() == b"\n"


def test_file_of_only_comments_is_clean_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.py"
    # comments that mention Keras (so the file is parsed, not skipped as Keras-free)
    text = "# model = Model(input=a, output=b)\n# from keras.layers import merge\n#\n"
    path.write_text(text)
    check = cli("check", "--no-cache", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All checks passed" in check.stdout
    migrate = cli("migrate", str(path))
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "Fixed 0 findings in 0 files" in migrate.stdout
    assert path.read_text() == text


def test_tab_indented_keras1_file_is_migrated_and_keeps_its_tabs(tmp_path: Path) -> None:
    path = tmp_path / "tabs.py"
    before = (
        "from keras.layers import Dense, Dropout, Convolution2D\n"
        "from keras.models import Sequential\n"
        "\n"
        "def build(deep):\n"
        "\tmodel = Sequential()\n"
        "\tmodel.add(Convolution2D(8, 3, 3, input_shape=(28, 28, 1)))\n"
        "\tif deep:\n"
        "\t\tmodel.add(Dense(output_dim=10,\n"
        "\t\t                init='uniform'))\n"
        "\t\tmodel.add(Dropout(p=0.5))\n"
        "\treturn model\n"
    )
    path.write_text(before)
    check = cli("check", "--no-cache", "--no-source", str(path))
    assert check.returncode == 1
    assert f"{shown(path)}:8:13: KF310" in check.stdout and f"{shown(path)}:10:13: KF311" in check.stdout
    result = cli("migrate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    after = path.read_text()
    assert after == (
        "from keras.layers import Dense, Dropout, Conv2D\n"
        "from keras.models import Sequential\n"
        "\n"
        "def build(deep):\n"
        "\tmodel = Sequential()\n"
        "\tmodel.add(Conv2D(8, (3, 3), input_shape=(28, 28, 1)))\n"
        "\tif deep:\n"
        "\t\tmodel.add(Dense(units=10,\n"
        "\t\t                kernel_initializer='uniform'))\n"
        "\t\tmodel.add(Dropout(rate=0.5))\n"
        "\treturn model\n"
    )
    ast.parse(after)
    assert cli("check", "--no-cache", str(path)).returncode == 0


def test_mixed_line_endings_are_kept_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "mixed.py"
    lines = [
        ("from keras.layers import Dense, Dropout, Convolution2D", "\r\n"),
        ("from keras.models import Sequential", "\n"),
        ("", "\r\n"),
        ("model = Sequential()  # trailing spaces follow   ", "\r\n"),
        ("model.add(Convolution2D(8, 3, 3, input_shape=(28, 28, 1)))", "\n"),
        ("model.add(Dense(output_dim=10))", "\r\n"),
        ("model.add(Dropout(p=0.5))", "\n"),
        ("x = 1", "\r\n"),
        ("# the end, without a final newline", ""),
    ]
    path.write_bytes("".join(text + ending for text, ending in lines).encode())
    result = cli("migrate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    changed = {
        0: "from keras.layers import Dense, Dropout, Conv2D",
        4: "model.add(Conv2D(8, (3, 3), input_shape=(28, 28, 1)))",
        5: "model.add(Dense(units=10))",
        6: "model.add(Dropout(rate=0.5))",
    }
    expected = "".join(changed.get(i, text) + ending for i, (text, ending) in enumerate(lines)).encode()
    assert path.read_bytes() == expected
    again = cli("migrate", "--check", str(path))
    assert again.returncode == 0 and path.read_bytes() == expected


def test_a_new_layer_goes_after_a_statement_continued_by_a_backslash(tmp_path: Path) -> None:
    path = tmp_path / "continued.py"
    path.write_text(
        "from keras.models import Sequential\nfrom keras.layers import Embedding\n"
        "m = Sequential()\nm.add(Embedding(100, 8, dropout=0.2)) \\\n\nx = 1\n"
    )
    assert cli("migrate", "--unsafe-fixes", str(path)).returncode == 0
    assert path.read_text() == (
        "from keras.models import Sequential\nfrom keras.layers import Embedding, SpatialDropout1D\n"
        "m = Sequential()\nm.add(Embedding(100, 8)) \\\n\nm.add(SpatialDropout1D(0.2))\nx = 1\n"
    )


def test_form_feeds_before_statements_do_not_move_later_edits(tmp_path: Path) -> None:
    # a form feed (page break) at the start of a line: the parser leaves it out of the code it gives
    # back, and edits after it must still land where the text has them
    path = tmp_path / "paged.py"
    text = "import keras\n\x0cx = 1\n\x0c\ny = keras.layers.convolutional.Conv2D(8, 3)\nz = keras.layers.Dense(output_dim=2)\n"
    path.write_text(text)
    check = cli("check", "--no-cache", "--no-source", str(path))
    assert f"{shown(path)}:4:5: KF303" in check.stdout and f"{shown(path)}:5:5: KF310" in check.stdout, check.stdout
    assert cli("migrate", str(path)).returncode == 0
    assert path.read_text() == text.replace(".convolutional.Conv2D", ".Conv2D").replace("output_dim", "units")

    # the fix's line starts with one, and the import is tidied: the page break stays where it was;
    # one before the first line of a block (which the parser repeats on every line of the block);
    # blanks before one; one on an import line that the tidy rewrites along with the line before
    cases = {
        "merged.py": (
            "from keras.layers import merge\n\x0cc = merge([a, b], mode='concat')\n",
            "from keras.layers import concatenate\n\x0cc = concatenate([a, b])\n",
        ),
        "block.py": (
            "def f():\n\x0c    from keras.layers import Convolution2D\n    return Convolution2D(8, 3, 3)\n",
            "def f():\n\x0c    from keras.layers import Conv2D\n    return Conv2D(8, (3, 3))\n",
        ),
        "blanks.py": (
            "import os\n \x0cfrom keras.layers import Convolution2D\n\t\x0cx = Convolution2D(8, 3, 3)\n",
            "import os\n \x0cfrom keras.layers import Conv2D\n\t\x0cx = Conv2D(8, (3, 3))\n",
        ),
        "blank_then_page.py": (
            "from keras.layers import Dense, Merge\nfrom keras.models import Sequential\na = Sequential()\n"
            "a.add(Dense(4, input_dim=3))\nb = Sequential()\nb.add(Dense(4, input_dim=3))\n"
            " \x0cm = Sequential()\nm.add(Merge([a, b], mode='concat'))\n",
            "from keras.layers import Dense, Input, concatenate\nfrom keras.models import Sequential, Model\na = Sequential()\n"
            "a.add(Dense(4, input_dim=3))\nb = Sequential()\nb.add(Dense(4, input_dim=3))\n"
            " \x0ca_input = Input(shape=(3,))\nb_input = Input(shape=(3,))\nmerged = concatenate([a(a_input), b(b_input)])\n"
            "m = Model(inputs=[a_input, b_input], outputs=merged)\n",
        ),
        "first_indent.py": (  # the file's first indented line starts with one: new imports still parse
            "from keras.optimizers import SGD\ndef f():\n\x0c    return SGD(lr=0.01, decay=1e-6)\n",
            None,
        ),
        "tidied.py": (
            "from keras.layers import Dense, Merge\n\x0cfrom keras.models import Sequential\n"
            "a = Sequential()\na.add(Dense(4, input_dim=3))\nb = Sequential()\nb.add(Dense(4, input_dim=3))\n"
            "m = Sequential()\nm.add(Merge([a, b], mode='concat'))\n",
            None,
        ),
    }
    for name, (before, after) in cases.items():
        path = tmp_path / name
        path.write_bytes(before.encode())
        result = cli("migrate", "--unsafe-fixes", str(path))
        assert result.returncode == 0, result.stdout + result.stderr
        migrated = path.read_bytes().decode()
        if after is not None:
            assert migrated == after, name
        elif name == "first_indent.py":
            assert "InverseTimeDecay(0.01" in migrated and "\ndef f():\n\x0c    return SGD(" in migrated, migrated
        else:
            assert "Merge" not in migrated and "\n\x0cfrom keras.models import " in migrated, migrated
        compile(migrated, name, "exec")
        assert migrated.count("\x0c") == before.count("\x0c"), name


BLOCK = (
    "\n\ndef build_{i}(classes={i} % 10 + 2):\n"
    "    model = Sequential()\n"
    "    model.add(Convolution2D(32, 3, 3, border_mode='same', input_shape=(28, 28, 1)))\n"
    "    model.add(MaxPooling2D(pool_size=(2, 2)))\n"
    "    model.add(Dropout(p=0.25))\n"
    "    model.add(Flatten())\n"
    "    model.add(Dense(output_dim=classes, init='uniform'))\n"
    "    model.add(Activation('softmax'))\n"
    "    return model\n"
)
MIGRATED_BLOCK = (
    BLOCK.replace("Convolution2D(32, 3, 3, border_mode=", "Conv2D(32, (3, 3), padding=")
    .replace("p=0.25", "rate=0.25")
    .replace("output_dim=classes, init=", "units=classes, kernel_initializer=")
)
HEADER = "from keras.layers import Activation, {conv}, Dense, Dropout, Flatten, MaxPooling2D\nfrom keras.models import Sequential\n"
# The file's size in MB. A file this large is parsed part by part (kerasfix/segments.py); LibCST would
# need some 6 GB to hold its whole tree. KERASFIX_LARGE_FILE_MB changes the size.
LARGE_FILE_MB = float(os.environ.get("KERASFIX_LARGE_FILE_MB", "10"))
PEAK_MEMORY_MB = 1024
# The CLI, reporting its own peak memory on stderr when it ends.
MEASURED = (
    "import resource, runpy, sys\n"
    "try:\n"
    "    runpy.run_module('kerasfix', run_name='__main__')\n"
    "finally:\n"
    "    print(f'peak-rss-kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
)


def _measured(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1")
    return subprocess.Popen(
        [sys.executable, "-c", MEASURED, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen) -> tuple[int, str, str, int]:
    stdout, stderr = process.communicate(timeout=1200)
    peak = re.search(r"^peak-rss-kb (\d+)$", stderr, re.MULTILINE)
    assert peak is not None, stderr[-2000:]
    return process.returncode, stdout, stderr[: peak.start()], int(peak.group(1)) // 1024


@pytest.mark.slow
@pytest.mark.long
def test_a_large_generated_keras1_file_is_checked_and_migrated(tmp_path: Path) -> None:
    blocks: list[str] = []
    size = 0
    while size < LARGE_FILE_MB * 1024 * 1024:
        blocks.append(BLOCK.format(i=len(blocks)))
        size += len(blocks[-1])
    text = HEADER.format(conv="Convolution2D") + "".join(blocks)
    checked, migrated = tmp_path / "checked.py", tmp_path / "migrated.py"
    checked.write_text(text)
    migrated.write_text(text)
    del text

    # the two runs are independent; started together they take one core each
    check_run = _measured("check", "--no-cache", "--no-source", str(checked))
    migrate_run = _measured("migrate", "--quiet", str(migrated))
    check_code, check_out, check_err, check_peak = _finish(check_run)
    migrate_code, migrate_out, migrate_err, migrate_peak = _finish(migrate_run)

    assert check_code == 1, check_err[-2000:]
    assert "error" not in check_out and not check_err, check_err[-2000:]
    rows = [int(match.group(1)) for match in re.finditer(r"^[^:\n]+:(\d+):\d+: KF\d+ ", check_out, re.MULTILINE)]
    # per block: Convolution2D (signature and border_mode), Dropout(p=), Dense(output_dim=, init=)
    per_block = len([row for row in rows if row in range(3, 3 + BLOCK.count("\n"))])
    assert per_block == 4
    assert len(rows) == per_block * len(blocks)
    # every block's four findings, at the same lines of each block
    first = sorted(row for row in rows if row in range(3, 3 + BLOCK.count("\n")))
    last_start = 3 + (len(blocks) - 1) * BLOCK.count("\n")
    assert sorted(row - last_start + 3 for row in rows if row >= last_start) == first
    assert f"Found {len(rows)} findings." in check_out

    assert migrate_code == 0, migrate_out[-2000:] + migrate_err[-2000:]
    result = migrated.read_text()
    compile(result, str(migrated), "exec")
    assert result == HEADER.format(conv="Conv2D") + "".join(MIGRATED_BLOCK.format(i=i) for i in range(len(blocks)))

    if LARGE_FILE_MB >= 5:
        assert check_peak < PEAK_MEMORY_MB and migrate_peak < PEAK_MEMORY_MB, (check_peak, migrate_peak)


def test_invalid_utf8_is_reported_by_name_and_the_others_still_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"from keras.models import Model\n# caf\xe9 in latin-1 without a coding cookie\nm = Model(input=a, output=b)\n")
    good = _good_file(tmp_path)
    before = bad.read_bytes()

    check = cli("check", "--no-cache", "--no-source", str(tmp_path))
    assert check.returncode == 1
    assert f"{shown(bad)}:2:1: error: file is not valid utf-8" in check.stdout
    assert f"{shown(good)}:5:11: KF310" in check.stdout
    assert "1 file could not be checked" in check.stdout
    items = json.loads(cli("check", "--no-cache", "--output-format", "json", "bad.py", cwd=tmp_path).stdout)
    assert [(i["code"], i["filename"], i["location"]["row"]) for i in items] == [(None, "bad.py", 2)]

    migrate = cli("migrate", str(tmp_path))
    assert migrate.returncode == 1
    assert f"{shown(bad)}:2:1: error: file is not valid utf-8" in migrate.stdout
    assert "1 file could not be processed" in migrate.stdout
    assert bad.read_bytes() == before
    assert good.read_text() == MIGRATED


def test_binary_files_named_py_are_reported_not_crashed_on(tmp_path: Path) -> None:
    # valid UTF-8 with NUL bytes and no Keras in it; invalid UTF-8 with Keras bytes in it
    (tmp_path / "blob.py").write_bytes(b"\x00\x01\x02\x03 data\n\x00\x00")
    (tmp_path / "elf.py").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) + b"import keras\n")
    good = _good_file(tmp_path)
    before = _snapshot(tmp_path)

    for args, summary in ((("check", "--no-cache", "--no-source"), "2 files could not be checked"), (("migrate",), "2 files could not be processed")):
        result = cli(*args, str(tmp_path))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert f"{shown(tmp_path / 'blob.py')}: error: file contains NUL bytes; it is not Python source" in result.stdout
        assert f"{shown(tmp_path / 'elf.py')}:" in result.stdout and "error: file is not valid utf-8" in result.stdout
        assert summary in result.stdout
    after = _snapshot(tmp_path)
    assert after["blob.py"] == before["blob.py"] and after["elf.py"] == before["elf.py"]
    assert good.read_text() == MIGRATED


def test_python2_syntax_is_a_parse_error_with_its_line(tmp_path: Path) -> None:
    old = tmp_path / "py2.py"
    text = "from keras.models import Model\n\nprint \"building\"\nm = Model(input=a, output=b)\n"
    old.write_text(text)
    good = _good_file(tmp_path)

    check = cli("check", "--no-cache", "--no-source", str(tmp_path))
    assert check.returncode == 1
    assert f"{shown(old)}:3:1: error: syntax error" in check.stdout
    assert f"{shown(good)}:5:11: KF310" in check.stdout
    migrate = cli("migrate", str(tmp_path))
    assert migrate.returncode == 1
    assert f"{shown(old)}:3:1: error: syntax error" in migrate.stdout and "1 file could not be processed" in migrate.stdout
    assert old.read_text() == text
    assert good.read_text() == MIGRATED


def test_notebooks_that_are_not_notebooks_are_reported(tmp_path: Path) -> None:
    """JSON of the wrong shape, an empty file, bytes that are not UTF-8, a cell source of the wrong type."""
    cases = {
        "array.ipynb": (b"[1, 2, 3]\n", "notebook has no list of cells"),
        "cells_not_a_list.ipynb": (json.dumps({"cells": {"0": {}}, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(), "notebook has no list of cells"),
        "zero_bytes.ipynb": (b"", "notebook is not valid JSON"),
        "latin1.ipynb": (b'{"cells": [], "metadata": {"title": "caf\xe9"}, "nbformat": 4, "nbformat_minor": 5}', "notebook is not valid UTF-8"),
        "bad_source.ipynb": (
            json.dumps({"cells": [{"cell_type": "code", "id": "a1", "source": 5, "metadata": {}, "outputs": [], "execution_count": None}],
                        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
            "notebook does not validate against the nbformat schema",
        ),
    }
    for name, (raw, _) in cases.items():
        (tmp_path / name).write_bytes(raw)
    good = _good_file(tmp_path)
    for args, summary in ((("check", "--no-cache", "--no-source"), "5 files could not be checked"), (("migrate",), "5 files could not be processed")):
        result = cli(*args, str(tmp_path))
        assert result.returncode == 1, result.stdout + result.stderr
        for name, (_, message) in cases.items():
            assert f"{shown(tmp_path / name)}: error: {message}" in result.stdout, (name, result.stdout)
        assert summary in result.stdout
        assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    for name, (raw, _) in cases.items():
        assert (tmp_path / name).read_bytes() == raw
    assert good.read_text() == MIGRATED


def test_notebook_without_cell_ids_is_migrated_without_library_warnings(tmp_path: Path) -> None:
    """nbformat 4.5 asks for cell ids; notebooks written by hand or by older tools often have none."""
    path = tmp_path / "no_ids.ipynb"
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": LEGACY}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n")
    for args in (("check", "--no-cache"), ("migrate",)):
        result = cli(*args, str(path))
        assert result.returncode in (0, 1) and result.stderr == "", result.stderr
    assert json.loads(path.read_text())["cells"][0]["source"] == MIGRATED
    assert "id" not in json.loads(path.read_text())["cells"][0]


def test_notebook_with_magics_keeps_their_bytes_while_keras_code_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "train.ipynb"
    notebook = new_notebook()
    notebook.cells = [
        new_code_cell("%matplotlib inline\n!pip install keras==1.2.2\nfrom keras.layers import Dense, Dropout\nfrom keras.models import Sequential"),
        new_markdown_cell("`%%time` below times the build."),
        new_code_cell("%%time\nmodel = Sequential()\nmodel.add(Dense(output_dim=10, input_dim=4))\n!nvidia-smi  # no GPU needed\nmodel.add(Dropout(p=0.5))"),
        new_code_cell("%%bash\necho 'Dense(output_dim=10)'"),
    ]
    nbformat.write(notebook, str(path))
    raw_before = path.read_text(encoding="utf-8")

    check = cli("check", "--no-cache", "--no-source", str(path))
    assert check.returncode == 1
    assert f"{shown(path)}:cell 3:3:11: KF310" in check.stdout and f"{shown(path)}:cell 3:5:11: KF311" in check.stdout
    assert "error" not in check.stdout

    migrate = cli("migrate", str(path))
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    raw_after = path.read_text(encoding="utf-8")
    # every line of the file that holds a magic, a shell escape or the %%bash cell is byte-identical
    for needle in ("%matplotlib inline", "!pip install keras==1.2.2", '"%%time\\n"', "!nvidia-smi  # no GPU needed", "%%bash", "echo 'Dense(output_dim=10)'"):
        old = [line for line in raw_before.splitlines() if needle in line]
        assert old and old == [line for line in raw_after.splitlines() if needle in line], needle
    cells = json.loads(raw_after)["cells"]
    assert "".join(cells[2]["source"]) == (
        "%%time\nmodel = Sequential()\nmodel.add(Dense(units=10, input_dim=4))\n!nvidia-smi  # no GPU needed\nmodel.add(Dropout(rate=0.5))"
    )
    assert len(raw_before.splitlines()) == len(raw_after.splitlines())
    nbformat.validate(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))
    assert cli("check", "--no-cache", str(path)).returncode == 0


def test_a_missing_path_is_reported_and_the_other_paths_still_run(tmp_path: Path) -> None:
    good = _good_file(tmp_path)
    missing = tmp_path / "nope" / "model.py"
    checked = cli("check", "--no-cache", str(good), str(missing))
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert str(missing) in checked.stderr
    assert "KF310" in checked.stdout  # the real file was still checked
    migrated = cli("migrate", str(good), str(missing))
    assert migrated.returncode == 2, migrated.stdout + migrated.stderr
    assert str(missing) in migrated.stderr
    assert good.read_text() == MIGRATED  # the real file was still migrated


def test_a_linked_directory_pointing_out_of_the_tree_is_not_walked(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "legacy.py").write_text(LEGACY)
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "models").symlink_to(outside, target_is_directory=True)
    (tree / "dangling.py").symlink_to(tmp_path / "gone.py")
    inside = tree / "pkg" / "inside.py"
    inside.write_text(LEGACY)

    check = cli("check", "--no-cache", "--no-source", str(tree))
    assert check.returncode == 1
    assert f"{shown(inside)}:5:11: KF310" in check.stdout
    assert "legacy.py" not in check.stdout and "dangling" not in check.stdout and "error" not in check.stdout
    migrate = cli("migrate", str(tree))
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert inside.read_text() == MIGRATED
    assert (outside / "legacy.py").read_text() == LEGACY
    assert sorted(p.name for p in outside.iterdir()) == ["legacy.py"]  # no temporary written through the link
    assert (tree / "dangling.py").is_symlink() and not (tree / "dangling.py").exists()
