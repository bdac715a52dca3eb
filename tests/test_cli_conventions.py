"""Ruff's command-line conventions, tried as a new user would: --statistics, --show-fixes, --add-noqa,
--exit-zero and --exit-non-zero-on-fix on migrate, --output-file, --watch, KF901 (unused `# noqa`),
rule names for codes, one --output-format flag, `rules` as JSON or a plain table, and output piped
into a reader that stops early."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import LEGACY, MIGRATED, ROOT, cli, run_kerasfix

MERGE = (
    "from keras.layers import Input, Dense, merge\n"
    "from keras.models import Model\n"
    "a = Input(shape=(4,))\n"
    "b = Input(shape=(4,))\n"
    "joined = merge([a, b], mode='concat')\n"
    "model = Model(input=[a, b], output=Dense(1)(joined))\n"
)


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _environment() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", PYTHONSAFEPATH="1")


# --- --statistics, --show-fixes, exit codes, --output-file -------------------------------------------


def test_statistics_count_findings_per_rule(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", LEGACY)
    _write(tmp_path, "b.py", LEGACY + "model.add(Dropout(p=0.1))\n")
    result = cli("check", "--statistics", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["3", "KF311", "[*]", "keras1-dropout-arguments"]
    assert lines[1].split() == ["2", "KF310", "[*]", "keras1-dense-arguments"]
    assert "a.py" not in result.stdout  # counts, not findings
    as_json = json.loads(cli("check", "--statistics", "--output-format", "json", ".", cwd=tmp_path).stdout)
    assert as_json == [
        {"code": "KF311", "name": "keras1-dropout-arguments", "count": 3, "fixable": 3},
        {"code": "KF310", "name": "keras1-dense-arguments", "count": 2, "fixable": 2},
    ]


def test_show_fixes_lists_what_migrate_fixed_per_file_and_rule(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", LEGACY)
    _write(tmp_path, "m.py", MERGE)
    result = cli("migrate", "--show-fixes", "--quiet", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 4 findings:\n- a.py:\n    1 × KF310 (keras1-dense-arguments)\n    1 × KF311 (keras1-dropout-arguments)\n" in result.stdout
    assert "- m.py:\n    1 × KF101 (legacy-merge)\n    1 × KF102 (legacy-model-input-output)\n" in result.stdout
    assert (tmp_path / "a.py").read_text(encoding="utf-8") == MIGRATED


def test_migrate_exit_zero_and_exit_non_zero_on_fix(tmp_path: Path) -> None:
    unfixable = LEGACY + "from keras import backend as K\nK.set_session(None)\n"
    _write(tmp_path, "a.py", unfixable)
    assert cli("migrate", "a.py", cwd=tmp_path).returncode == 1  # KF373 remains
    _write(tmp_path, "a.py", unfixable)
    assert cli("migrate", "--exit-zero", "a.py", cwd=tmp_path).returncode == 0
    _write(tmp_path, "b.py", LEGACY)
    assert cli("migrate", "b.py", cwd=tmp_path).returncode == 0  # everything fixed
    _write(tmp_path, "b.py", LEGACY)
    assert cli("migrate", "--exit-non-zero-on-fix", "b.py", cwd=tmp_path).returncode == 1
    assert cli("migrate", "--exit-non-zero-on-fix", "b.py", cwd=tmp_path).returncode == 0  # nothing left to fix
    both = cli("migrate", "--exit-zero", "--exit-non-zero-on-fix", "b.py", cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_output_file_receives_the_report(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", LEGACY)
    result = cli("check", "--output-format", "json", "--output-file", "reports/kerasfix.json", "a.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    report = json.loads((tmp_path / "reports" / "kerasfix.json").read_text(encoding="utf-8"))
    assert sorted(item["code"] for item in report) == ["KF310", "KF311"]
    text = cli("check", "-o", "out.txt", "--no-source", "a.py", cwd=tmp_path)
    assert text.stdout == "" and "a.py:5:11: KF310" in (tmp_path / "out.txt").read_text(encoding="utf-8")


# --- --add-noqa and KF901 ------------------------------------------------------------------------------

NOQA_CASES = '''from keras.layers import Dense, Dropout
from keras.models import Model
text = "# noqa: KF311"; first = Dropout(p=0.5)
typed = Dropout(p=0.5)  # type: ignore
other_tool = Dropout(p=0.5)  # noqa: E501
described = Dense(10, init="""he_normal
""")
continued = Dropout(p=0.5) + \\
    1
model = Model(
    input=a,
    output=b,
)
blanket = Dropout(p=0.5)  # noqa
'''

NOQA_ADDED = '''from keras.layers import Dense, Dropout
from keras.models import Model
text = "# noqa: KF311"; first = Dropout(p=0.5)  # noqa: KF311
typed = Dropout(p=0.5)  # type: ignore  # noqa: KF311
other_tool = Dropout(p=0.5)  # noqa: E501, KF311
described = Dense(10, init="""he_normal
""")  # noqa: KF310
continued = Dropout(p=0.5) + \\
    1  # noqa: KF311
model = Model(  # noqa: KF102
    input=a,
    output=b,
)
blanket = Dropout(p=0.5)  # noqa
'''


def test_add_noqa_writes_each_directive_where_it_silences_its_finding(tmp_path: Path) -> None:
    path = _write(tmp_path, "cases.py", NOQA_CASES)
    result = cli("check", "--add-noqa", "cases.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Added 6 noqa directives to 1 file." in result.stderr
    assert path.read_text(encoding="utf-8") == NOQA_ADDED
    compile(NOQA_ADDED, "cases.py", "exec")  # no comment landed inside a string or after a backslash
    after = cli("check", "--no-cache", "cases.py", cwd=tmp_path)
    assert after.returncode == 0, after.stdout
    again = cli("check", "--add-noqa", "cases.py", cwd=tmp_path)
    assert "Added 0 noqa directives" in again.stderr and path.read_text(encoding="utf-8") == NOQA_ADDED


def test_add_noqa_in_a_notebook_cell(tmp_path: Path) -> None:
    cells = [["from keras.layers import Dropout\n"], ["x = 1\n", "layer = Dropout(p=0.5)\n"]]
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": str(i), "metadata": {}, "outputs": [], "source": source} for i, source in enumerate(cells)],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    path = _write(tmp_path, "nb.ipynb", json.dumps(notebook, indent=1) + "\n")
    assert cli("check", "--add-noqa", "nb.ipynb", cwd=tmp_path).returncode == 0
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][1]["source"] == ["x = 1\n", "layer = Dropout(p=0.5)  # noqa: KF311\n"]
    assert cli("check", "--no-cache", "nb.ipynb", cwd=tmp_path).returncode == 0


def test_unused_noqa_is_reported_and_fixed_by_name_or_code(tmp_path: Path) -> None:
    program = (
        "from keras.layers import Dense, Dropout\n"
        "a = Dense(10)  # noqa: KF101\n"
        "b = Dropout(p=0.5)  # noqa: KF311, KF102, E501\n"
        "c = Dense(10)  # noqa: KF9999 the old code\n"
        "d = Dense(10)  # noqa\n"
        "e = Dense(10)  # noqa: KF209\n"
        "f = Dense(10)  # noqa: KF101, KF901\n"
    )
    _write(tmp_path, "a.py", program)
    default = cli("check", "--no-cache", "a.py", cwd=tmp_path)
    assert default.returncode == 0  # off by default, as Ruff's RUF100
    result = cli("check", "--no-cache", "--no-source", "--extend-select", "unused-noqa", "a.py", cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "KF901" in line]
    assert lines == [
        "a.py:2:16: KF901 [*] Unused `noqa` code (silences nothing: `KF101`)",
        "a.py:3:21: KF901 [*] Unused `noqa` code (silences nothing: `KF102`)",
        "a.py:4:16: KF901 [*] Unused `noqa` code (no such rule: `KF9999`)",
    ]  # E501 is another tool's, a bare noqa may be too, KF209 is not enabled, KF901 silences itself
    assert cli("migrate", "--extend-select", "KF901", "a.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.py").read_text(encoding="utf-8") == (
        "from keras.layers import Dense, Dropout\n"
        "a = Dense(10)\n"
        "b = Dropout(p=0.5)  # noqa: KF311, E501\n"
        "c = Dense(10)  # the old code\n"
        "d = Dense(10)  # noqa\n"
        "e = Dense(10)  # noqa: KF209\n"
        "f = Dense(10)  # noqa: KF101, KF901\n"
    )


# --- rule names, --output-format, rules ----------------------------------------------------------------


def test_rule_names_are_accepted_wherever_codes_are(tmp_path: Path) -> None:
    _write(tmp_path, "m.py", MERGE)
    by_name = cli("check", "--no-cache", "--no-source", "--select", "legacy-merge", "m.py", cwd=tmp_path)
    assert [line.split()[1] for line in by_name.stdout.splitlines() if ": KF" in line] == ["KF101"]
    ignored = cli("check", "--no-cache", "--no-source", "--ignore", "legacy-merge,legacy-model-input-output", "m.py", cwd=tmp_path)
    assert ignored.returncode == 0
    explained = cli("explain", "legacy-merge")
    assert explained.returncode == 0 and explained.stdout.startswith("# KF101 (legacy-merge)")
    _write(tmp_path, "pyproject.toml", '[tool.kerasfix]\nselect = ["legacy-model-input-output"]\nper-file-ignores = { "x*.py" = ["legacy-merge"] }\n')
    configured = cli("check", "--no-cache", "--no-source", "m.py", cwd=tmp_path)
    assert [line.split()[1] for line in configured.stdout.splitlines() if ": KF" in line] == ["KF102"]
    unknown = cli("check", "--select", "legacy-mergee", "m.py", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown rule selector 'legacy-mergee'" in unknown.stderr
    assert cli("explain", "no-such-rule").returncode == 2


def test_one_output_format_flag_and_the_deprecated_format(tmp_path: Path) -> None:
    program = _write(tmp_path, "m.py", MIGRATED)
    new = cli("summary", "--output-format", "json", str(program), cwd=tmp_path)
    old = cli("summary", "--format", "json", str(program), cwd=tmp_path)
    assert new.returncode == old.returncode == 0
    assert json.loads(new.stdout) == json.loads(old.stdout)
    assert new.stderr == "" and "`--format` is deprecated; use `--output-format`" in old.stderr
    rules = json.loads(cli("rules", "--output-format", "json").stdout)
    assert {"code": "KF101", "name": "legacy-merge", "fix_safety": "sometimes", "default": True} == {
        key: value for key, value in rules[0].items() if key != "summary"
    }
    assert {rule["code"] for rule in rules} >= {"KF101", "KF310", "KF901"}
    for command in (["check"], ["summary"], ["rules"], ["verify", "--steps", "0"]):
        result = cli(*command, "--output-format", "json", *(["m.py"] if command[0] != "rules" else []), cwd=tmp_path)
        assert "unrecognized arguments" not in result.stderr, command
    deprecated = cli("verify", "--format", "json", "--steps", "0", "m.py", cwd=tmp_path)
    assert deprecated.returncode == 2 and "deprecated" in deprecated.stderr and "unrecognized" not in deprecated.stderr


def test_rules_piped_is_a_plain_table() -> None:
    result = run_kerasfix("rules")  # stdout is a pipe here
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    count = len(json.loads(run_kerasfix("rules", "--output-format", "json").stdout))
    assert len(lines) == count + 1  # a header and one line per rule: nothing wrapped
    assert lines[0].split() == ["Code", "Name", "Fix", "Default", "Summary"]
    assert not any(character in result.stdout for character in "│┃━─┏┗╇")
    merge = next(line for line in lines if line.startswith("KF101 "))
    assert merge.split()[:4] == ["KF101", "legacy-merge", "sometimes", "on"]


# --- pipes that close early ----------------------------------------------------------------------------


def _first_line_then_close(args: list[str], cwd: Path) -> tuple[bytes, str, int]:
    """Run the CLI into a real pipe, read one line and close the pipe, as `| head -n 1` does."""
    process = subprocess.Popen([sys.executable, "-m", "kerasfix", *args], cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()
    try:
        _, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return first, stderr.decode(), process.returncode


@pytest.fixture(scope="module")
def many_findings(tmp_path_factory) -> Path:
    """Far more output than a pipe holds (64 KiB) in every format: the writer meets the closed pipe."""
    directory = tmp_path_factory.mktemp("many")
    body = "".join(f"d{i} = Dropout(p=0.{i % 9 + 1})\n" for i in range(400))
    _write(directory, "many.py", "from keras.layers import Dropout\n" + body)
    models = "".join(
        f"m{i} = Sequential([Dense(8, input_shape=(4,)), Dense(8), Dense(8), Dense(1)])\n" for i in range(120)
    )
    _write(directory, "models.py", "from keras.models import Sequential\nfrom keras.layers import Dense\n" + models)
    return directory


@pytest.mark.parametrize("args", [
    ["check", "--no-cache", "--output-format", "json", "many.py"],
    ["check", "--no-cache", "--output-format", "sarif", "many.py"],
    ["check", "--no-cache", "--output-format", "github", "many.py"],
    ["check", "--no-cache", "many.py"],
    ["summary", "--output-format", "json", "models.py"],
], ids=["json", "sarif", "github", "text", "summary-json"])
def test_output_into_a_closed_pipe_ends_quietly(many_findings: Path, args: list[str]) -> None:
    first, stderr, status = _first_line_then_close(args, many_findings)
    assert first.strip()  # output had begun
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr, stderr
    assert status in (0, 1)


# --- --watch --------------------------------------------------------------------------------------------


def test_watch_checks_again_when_a_file_changes(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.py", MIGRATED)
    process = subprocess.Popen(
        [sys.executable, "-m", "kerasfix", "check", "--watch", "--no-source", "."],
        cwd=tmp_path, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()

    def wait_for(text: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            assert process.poll() is None, f"watch ended: {process.stderr.read()}"
            assert time.monotonic() < deadline, f"no {text!r} in {lines}"
            time.sleep(0.1)

    try:
        wait_for("All checks passed!")
        time.sleep(1.1)  # a modification time the first look cannot share, on any file system
        path.write_text(LEGACY, encoding="utf-8")
        wait_for("a.py:6:11: KF311")
        path.write_text(MIGRATED + "\n", encoding="utf-8")
        before = sum("All checks passed!" in line for line in lines)
        deadline = time.monotonic() + 120
        while sum("All checks passed!" in line for line in lines) == before:
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


# --- an install path that is true (kerasfix is not on a package index yet) ----------------------------

NOT_PUBLISHED = re.compile(r"pip install '?kerasfix(?:\[|\b)(?! @)")  # `pip install kerasfix`, `'kerasfix[verify]'`


def test_install_instructions_name_what_works_today() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not NOT_PUBLISHED.search(readme), NOT_PUBLISHED.search(readme)
    for module in (ROOT / "kerasfix").rglob("*.py"):
        assert not NOT_PUBLISHED.search(module.read_text(encoding="utf-8")), module
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M).group(1)
    revs = re.findall(r"^\s*rev: (\S+)", readme, re.M)
    assert revs and set(revs) == {f"v{version}"}  # the tag the snippet pins is the version's


def test_verify_without_tensorflow_says_how_to_install_it(tmp_path: Path) -> None:
    _write(tmp_path, "m.py", MIGRATED)
    script = "import sys; sys.modules['tensorflow'] = None\nfrom kerasfix.cli import main\nsys.exit(main(['verify', 'm.py']))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "needs TensorFlow, which is not installed" in result.stderr
    assert "pip install '.[verify]'` in a clone of kerasfix" in result.stderr
    assert not NOT_PUBLISHED.search(result.stderr)
