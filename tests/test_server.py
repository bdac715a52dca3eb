"""`kerasfix server`: the real server process, driven over stdio with JSON-RPC as an editor drives it
(tests/lsp_client.py): diagnostics, quick fixes, fix-all, commands, hover, configuration, notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import check_json, migrate

pytest.importorskip("pygls")
pytest.importorskip("lsprotocol")

from lsp_client import LspClient, apply_text_edits  # noqa: E402

from kerasfix import registry  # noqa: E402
from kerasfix.server import DOCS_URL, FIX_ALL_COMMAND, FIX_ALL_KIND, text_edits  # noqa: E402

PROGRAM = (
    "from keras.layers import Dense, Input, merge\n"
    "from keras.models import Model\n"
    "\n"
    "a = Input(shape=(4,))\n"
    "h = Dense(output_dim=8)(a)\n"
    "s = merge([h, h], mode='sum')\n"
    "c = merge([h, h], mode='cos')\n"
    "model = Model(input=a, output=[s, c])\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.kerasfix]\nselect = ['ALL']\n")
    return tmp_path


def _start(root: Path, options: dict | None = None, capabilities: dict | None = None, answers=None) -> LspClient:
    client = LspClient(root, root / "server-stderr.txt", answers)
    client.initialize(root, options, capabilities)
    return client


def _at(row: int, column: int) -> dict:
    return {"line": row - 1, "character": column - 1}


def _code_actions(client: LspClient, uri: str, start: dict, end: dict | None = None, only: list[str] | None = None) -> list[dict]:
    context: dict = {"diagnostics": []}
    if only is not None:
        context["only"] = only
    return client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {"start": start, "end": end or start}, "context": context})


def _edited(text: str, edit: dict, uri: str) -> str:
    """The document `uri` after a WorkspaceEdit, as an editor applies it."""
    changes = [change for change in edit["documentChanges"] if change["textDocument"]["uri"] == uri]
    assert len(changes) == 1, edit
    return apply_text_edits(text, changes[0]["edits"])


def test_diagnostics_fixes_hover_and_exit_as_an_editor_uses_them(project: Path) -> None:
    path = project / "model.py"
    path.write_text(PROGRAM)
    expected = check_json(str(path), cwd=project)
    client = _start(project, answers=lambda request: {"applied": True} if request["method"] == "workspace/applyEdit" else None)
    try:
        uri = client.open(path, PROGRAM)
        diagnostics = client.diagnostics(uri, version=1)
        # the same findings as `kerasfix check`, at the same places, with what an editor needs to show them
        assert [(d["code"], d["range"]["start"], d["message"]) for d in diagnostics] == [
            (f["code"], _at(f["location"]["row"], f["location"]["column"]), f["message"]) for f in expected
        ]
        assert [d["range"]["end"] for d in diagnostics] == [_at(f["end_location"]["row"], f["end_location"]["column"]) for f in expected]
        assert all(d["severity"] == 2 and d["source"] == "kerasfix" and d["codeDescription"]["href"] == DOCS_URL for d in diagnostics)

        # a quick fix per finding with a safe fix; the unsafe `cos` merge gets none (unsafe-fixes is off)
        dense = next(d for d in diagnostics if d["code"] == "KF310")
        actions = _code_actions(client, uri, dense["range"]["start"], only=["quickfix"])
        assert [action["title"] for action in actions] == ["Fix KF310: `output_dim` -> `units`"]
        assert actions[0]["diagnostics"][0]["code"] == "KF310" and actions[0]["isPreferred"] is True
        assert _edited(PROGRAM, actions[0]["edit"], uri) == PROGRAM.replace("output_dim=8", "units=8")
        merge_sum = next(d for d in diagnostics if d["code"] == "KF101" and d["range"]["start"]["line"] == 5)
        (action,) = _code_actions(client, uri, merge_sum["range"]["start"], only=["quickfix"])
        after_merge = _edited(PROGRAM, action["edit"], uri)  # the call rewritten and `add` imported, as migrate does
        assert len(action["edit"]["documentChanges"][0]["edits"]) == 2  # the lines between them are left alone
        assert "s = add([h, h])\n" in after_merge and after_merge.startswith("from keras.layers import Dense, Input, merge, add\n")
        merge_cos = next(d for d in diagnostics if d["code"] == "KF101" and d["range"]["start"]["line"] == 6)
        assert _code_actions(client, uri, merge_cos["range"]["start"], only=["quickfix"]) == []

        # fix all safe fixes: a source action whose edit the client asks for, equal to `migrate`
        (fix_all,) = _code_actions(client, uri, _at(1, 1), only=["source.fixAll"])
        assert fix_all["kind"] == FIX_ALL_KIND and "edit" not in fix_all
        resolved = client.request("codeAction/resolve", fix_all)
        assert _edited(PROGRAM, resolved["edit"], uri) == migrate(PROGRAM, select="ALL")

        # the same through the command: the server asks the client to apply the edit
        assert client.request("workspace/executeCommand", {"command": FIX_ALL_COMMAND, "arguments": [uri]}) is True
        (apply,) = [request for request in client.server_requests if request["method"] == "workspace/applyEdit"]
        fixed = _edited(PROGRAM, apply["params"]["edit"], uri)
        assert fixed == migrate(PROGRAM, select="ALL")

        # hover on a finding shows `kerasfix explain`; elsewhere nothing
        hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": merge_cos["range"]["start"]})
        assert hover["contents"] == {"kind": "markdown", "value": registry.all_specs()["KF101"].explanation()}
        assert hover["range"] == merge_cos["range"]
        assert client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _at(3, 1)}) is None

        # the editor applies the edit and says so: only the finding without a safe fix is left
        start, end = {"line": 0, "character": 0}, {"line": len(PROGRAM.splitlines()), "character": 0}
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{"range": {"start": start, "end": end}, "text": fixed}],
        })
        left = client.diagnostics(uri, version=2)
        assert [(d["code"], d["range"]["start"]["line"]) for d in left] == [("KF101", 6)]
        assert _code_actions(client, uri, _at(1, 1), only=["source.fixAll"]) == []
    finally:
        status = client.close()
    assert status == 0, client.stderr()


def test_changes_are_debounced_and_only_the_latest_text_is_reported(project: Path) -> None:
    path = project / "model.py"
    client = _start(project, {"debounce": 1000})  # milliseconds: longer than sending five edits takes
    try:
        uri = client.open(path, "import keras\n")
        assert client.diagnostics(uri, version=1) == []
        line = "h = keras.layers.Dense(output_dim=8)(h)\n"
        for version in range(2, 7):  # five quick keystrokes' worth of edits, each adding a legacy call
            position = {"line": version - 1, "character": 0}
            client.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": position, "end": position}, "text": line}],
            })
        latest = client.diagnostics(uri, version=6)
        assert [d["range"]["start"]["line"] for d in latest] == [1, 2, 3, 4, 5]
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _at(1, 1)})  # a round trip
        published = [n for n in client.notifications if n["method"] == "textDocument/publishDiagnostics"]
        assert published == []  # the edits before the last were never analysed on their own
    finally:
        client.close()


def test_after_each_edit_the_diagnostics_and_fixes_are_those_of_the_whole_text(project: Path) -> None:
    # the server parses again only the statements around an edit (kerasfix/reparse.py): after every
    # keystroke, what it reports and offers must be what a fresh look at the whole text gives
    path, fresh = project / "model.py", project / "fresh.py"
    text = PROGRAM + "\n\ndef build():\n    x = Input(shape=(3,))\n    return Model(input=x, output=Dense(output_dim=2)(x))\n"
    edits = [  # (line, column, inserted): typing a new line, changing numbers, indenting into the function
        (8, 0, "t = merge([h, h], mode='concat')\n"),
        (4, 21, "1"),
        (12, 0, "    y = Dense(output_dim=3)(x)\n"),
        (0, 0, "# a model\n"),
        (10, 0, "\n"),
    ]
    client = _start(project)
    try:
        uri = client.open(path, text)
        client.diagnostics(uri, version=1)
        for version, (line, column, inserted) in enumerate(edits, start=2):
            position = {"line": line, "character": column}
            client.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": position, "end": position}, "text": inserted}],
            })
            lines = text.splitlines(keepends=True)
            lines[line] = lines[line][:column] + inserted + lines[line][column:]
            text = "".join(lines)
            found = client.diagnostics(uri, version=version)
            assert all("code" in d for d in found), (found, text)
            fresh.write_text(text)
            expected = check_json(str(fresh), "--select", "ALL")
            assert [(d["code"], d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1) for d in found] == [
                (f["code"], f["location"]["row"], f["location"]["column"]) for f in expected
            ]
        # the quick fixes of the edited document are those of the same text opened afresh
        fresh_uri = client.open(fresh, text)
        assert len(client.diagnostics(fresh_uri, version=1)) == len(found)
        for diagnostic in found:
            start = diagnostic["range"]["start"]
            edited = [a.get("edit") for a in _code_actions(client, uri, start, only=["quickfix"])]
            opened = [a.get("edit") for a in _code_actions(client, fresh_uri, start, only=["quickfix"])]
            assert [_edited(text, e, uri) if e else None for e in edited] == [_edited(text, e, fresh_uri) if e else None for e in opened]
    finally:
        status = client.close()
    assert status == 0, client.stderr()


@pytest.mark.slow  # two servers, each started and given the file
def test_unsafe_fixes_are_labelled_and_offered_only_when_switched_on(project: Path) -> None:
    path = project / "model.py"
    cos = "c = merge([h, h], mode='cos')"
    row = PROGRAM.splitlines().index(cos) + 1
    for options, pyproject in (({"unsafeFixes": True}, None), ({}, "[tool.kerasfix]\nunsafe-fixes = true\n")):
        if pyproject is not None:
            (project / "pyproject.toml").write_text(pyproject)
        client = _start(project, options)
        try:
            uri = client.open(path, PROGRAM)
            client.diagnostics(uri)
            (action,) = _code_actions(client, uri, _at(row, 5), only=["quickfix"])
            assert action["title"] == "Fix KF101: Replace with `dot()` (unsafe fix: may change behaviour)"
            assert action["isPreferred"] is False
            assert _edited(PROGRAM, action["edit"], uri).splitlines()[row - 1] == "c = dot([h, h], axes=-1, normalize=True)"
            # fix-all stays safe fixes only
            resolved = client.request("codeAction/resolve", _code_actions(client, uri, _at(1, 1), only=[FIX_ALL_KIND])[0])
            assert cos in _edited(PROGRAM, resolved["edit"], uri)
        finally:
            client.close()


def test_configuration_is_the_nearest_pyproject_as_on_the_command_line(tmp_path: Path) -> None:
    legacy = "from keras.layers import Dense\nh = Dense(output_dim=8)\n"
    (tmp_path / "pyproject.toml").write_text("[tool.kerasfix]\nexclude = ['generated/']\n")
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    (quiet / "pyproject.toml").write_text("[tool.kerasfix]\nignore = ['KF310']\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[tool.kerasfix]\nselect = ['KF999']\n")
    (tmp_path / "generated").mkdir()
    for directory in (tmp_path, quiet, broken, tmp_path / "generated"):
        (directory / "model.py").write_text(legacy)
    client = _start(tmp_path)
    try:
        loud = client.open(tmp_path / "model.py", legacy)
        assert [d["code"] for d in client.diagnostics(loud)] == ["KF310"]
        assert client.diagnostics(client.open(quiet / "model.py", legacy)) == []
        assert client.diagnostics(client.open(tmp_path / "generated" / "model.py", legacy)) == []  # excluded
        (error,) = client.diagnostics(client.open(broken / "model.py", legacy))
        assert error["severity"] == 1 and "KF999" in error["message"] and str(broken / "pyproject.toml") in error["message"]
        shown = client.wait_for("window/showMessage")
        assert shown["type"] == 1 and "KF999" in shown["message"]
        # what `check` says of the same files
        assert [f["code"] for f in check_json(str(quiet / "model.py"), cwd=tmp_path)] == []
        # the editor's settings change: every open file is checked again under them
        client.notify("workspace/didChangeConfiguration", {"settings": {"kerasfix": {"ignore": ["KF310"]}}})
        assert client.diagnostics(loud) == []
    finally:
        client.close()


def test_a_syntax_error_is_reported_where_it_is(project: Path) -> None:
    client = _start(project)
    try:
        uri = client.open(project / "model.py", "import keras\n\ndef broken(:\n    pass\n")
        (error,) = client.diagnostics(uri)
        assert error["severity"] == 1 and error["range"]["start"]["line"] == 2
        assert error["message"].startswith("kerasfix could not check this file: syntax error")
    finally:
        client.close()


def test_positions_count_utf16_code_units(project: Path) -> None:
    text = "from keras.layers import Dense\nh = {'😀é': Dense(output_dim=8)}\n"
    client = _start(project)
    try:
        uri = client.open(project / "model.py", text)
        (diagnostic,) = client.diagnostics(uri)
        # 😀 is two UTF-16 code units: `Dense` starts at character 12 (the 12th code point, counted from 0, is 11)
        assert diagnostic["range"]["start"] == {"line": 1, "character": 12}
        (action,) = _code_actions(client, uri, diagnostic["range"]["start"], only=["quickfix"])
        assert _edited(text, action["edit"], uri) == text.replace("output_dim", "units")
    finally:
        client.close()


NOTEBOOK_CELLS = [
    ("code", "from keras.layers import Input, merge\na = Input(shape=(2,))\n"),
    ("markdown", "merge([a, a], mode='sum') in prose is not code"),
    ("code", "%matplotlib inline\nb = merge([a, a], mode='sum')\n"),
]


def test_notebook_cells_are_checked_as_one_program(project: Path) -> None:
    notebook = (project / "model.ipynb").as_uri()
    cells = [(f"{notebook}#cell{index}", kind, text) for index, (kind, text) in enumerate(NOTEBOOK_CELLS)]
    client = _start(project)
    try:
        client.notify("notebookDocument/didOpen", {
            "notebookDocument": {
                "uri": notebook, "notebookType": "jupyter-notebook", "version": 1,
                "cells": [{"kind": 2 if kind == "code" else 1, "document": uri} for uri, kind, _ in cells],
            },
            "cellTextDocuments": [
                {"uri": uri, "languageId": "python" if kind == "code" else "markdown", "version": 1, "text": text}
                for uri, kind, text in cells
            ],
        })
        first, third = cells[0][0], cells[2][0]
        published = {}
        while len(published) < 2:
            params = client.wait_for("textDocument/publishDiagnostics")
            published[params["uri"]] = params["diagnostics"]
        assert published[first] == []
        (merge_call,) = published[third]
        assert merge_call["code"] == "KF101" and merge_call["range"]["start"] == {"line": 1, "character": 4}

        # the fix edits two cells: the call in the third and the import in the first
        (action,) = _code_actions(client, third, merge_call["range"]["start"], only=["quickfix"])
        edited = {change["textDocument"]["uri"]: change["edits"] for change in action["edit"]["documentChanges"]}
        assert apply_text_edits(cells[0][2], edited[first]) == "from keras.layers import Input, add\na = Input(shape=(2,))\n"
        assert apply_text_edits(cells[2][2], edited[third]) == "%matplotlib inline\nb = add([a, a])\n"
        hover = client.request("textDocument/hover", {"textDocument": {"uri": third}, "position": merge_call["range"]["start"]})
        assert hover["contents"]["value"].startswith("# KF101")

        # editing the third cell re-checks the notebook
        client.notify("notebookDocument/didChange", {
            "notebookDocument": {"uri": notebook, "version": 2},
            "change": {"cells": {"textContent": [{
                "document": {"uri": third, "version": 2},
                "changes": [{"range": {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 0}}, "text": "b = a\n"}],
            }]}},
        })
        assert client.diagnostics(third, version=2) == []
    finally:
        client.close()


def test_without_pygls_the_command_says_what_to_install(tmp_path: Path) -> None:
    from conftest import run_kerasfix

    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "pygls").mkdir()
    (blocker / "pygls" / "__init__.py").write_text("raise ModuleNotFoundError('no pygls here', name='pygls')\n")
    result = run_kerasfix("server", env={"PYTHONPATH": f"{blocker}:{Path(__file__).resolve().parent.parent}"})
    assert result.returncode == 2
    assert "kerasfix server` needs pygls" in result.stderr and "[server]" in result.stderr


def test_a_client_without_versioned_edits_or_resolve_gets_plain_edits_and_a_command(project: Path) -> None:
    capabilities = {"workspace": {"applyEdit": True}, "textDocument": {"codeAction": {}}}
    client = _start(project, capabilities=capabilities)
    try:
        uri = client.open(project / "model.py", PROGRAM)
        dense = next(d for d in client.diagnostics(uri) if d["code"] == "KF310")
        (action,) = _code_actions(client, uri, dense["range"]["start"], only=["quickfix"])
        assert apply_text_edits(PROGRAM, action["edit"]["changes"][uri]) == PROGRAM.replace("output_dim=8", "units=8")
        (fix_all,) = _code_actions(client, uri, _at(1, 1), only=["source"])
        assert fix_all["command"] == {"title": "kerasfix: fix all safe fixes", "command": FIX_ALL_COMMAND, "arguments": [uri]}
    finally:
        client.close()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab \n\r\t😀é", max_size=30), st.text(alphabet="ab \n\r\t😀é", max_size=30))
def test_text_edits_turn_one_text_into_the_other(old: str, new: str) -> None:
    edits = text_edits(old, new, "utf-16")
    as_json = [
        {"range": {"start": {"line": e.range.start.line, "character": e.range.start.character},
                   "end": {"line": e.range.end.line, "character": e.range.end.character}}, "newText": e.new_text}
        for e in edits
    ]
    assert apply_text_edits(old, as_json) == new
    assert (edits == []) == (old == new)
