"""The GitHub Action: action.yml passes its inputs to scripts/github-action.sh, and the script, run as
GitHub runs it (the action's checkout as GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_OUTPUT, the inputs
as INPUT_*), installs kerasfix from that checkout and reports what `kerasfix check` reports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LEGACY, ROOT, check_json, cli

yaml = pytest.importorskip("yaml")

SCRIPT = "scripts/github-action.sh"


def _action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_action_yml_passes_every_input_the_script_reads() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    (step,) = [step for step in action["runs"]["steps"] if step.get("id") == "check"]
    assert step["run"] == f'bash "$GITHUB_ACTION_PATH/{SCRIPT}"' and step["shell"] == "bash"
    read = set(re.findall(r"\bINPUT_[A-Z_]+", (ROOT / SCRIPT).read_text(encoding="utf-8")))
    assert set(step["env"]) == read
    for variable, value in step["env"].items():
        name = variable.removeprefix("INPUT_").lower().replace("_", "-")
        assert value == f"${{{{ inputs.{name} }}}}" and name in action["inputs"]
    # the SARIF upload runs only when asked for, on the file the script wrote
    (upload,) = [step for step in action["runs"]["steps"] if step.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert "inputs.sarif == 'true'" in upload["if"] and upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert action["outputs"]["sarif-file"]["value"] == "${{ steps.check.outputs.sarif-file }}"


def _checkout(destination: Path) -> Path:
    """The files a checkout of this repository at its current state holds (tracked, and new files not
    ignored), as `uses: kerasfix/kerasfix@REF` gives the action."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _run_action(tmp: Path, workspace: Path, **inputs: str) -> tuple[subprocess.CompletedProcess, Path]:
    output = tmp / "github_output"
    output.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH") and not k.startswith("GITHUB_")}
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),  # `python3` is the one running the tests
        GITHUB_ACTIONS="true", GITHUB_ACTION_PATH=str(tmp / "action"), GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(tmp / "runner"), GITHUB_OUTPUT=str(output), NO_COLOR="1",
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    )
    (tmp / "runner").mkdir(exist_ok=True)
    result = subprocess.run(["bash", str(tmp / "action" / SCRIPT)], cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
    return result, output


def _annotations(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::error ")]


@pytest.mark.slow  # pip builds kerasfix from the checkout and installs it (~10-20 s)
def test_the_action_script_installs_kerasfix_and_reports_findings(tmp_path: Path) -> None:
    _checkout(tmp_path / "action")
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "model.py").write_text(LEGACY)
    (workspace / "src" / "clean.py").write_text("import keras\nlayer = keras.layers.Dense(units=3)\n")

    result, output = _run_action(tmp_path, workspace, args="src --no-cache", sarif="true", sarif_file="report.sarif")
    assert result.returncode == 1, result.stderr
    expected = cli("check", "src", "--no-cache", "--output-format", "github", cwd=workspace)
    assert _annotations(result.stdout) == _annotations(expected.stdout) and _annotations(result.stdout)
    assert "::group::Install kerasfix" in result.stdout
    sarif = json.loads((workspace / "report.sarif").read_text())
    findings = check_json("src", "--no-cache", cwd=workspace)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == [f["code"] for f in findings]
    assert output.read_text() == "sarif-file=report.sarif\n"

    # a clean tree passes; a configuration error stops with 2 and no report to upload
    result, output = _run_action(tmp_path, workspace, args="src/clean.py")
    assert (result.returncode, _annotations(result.stdout), output.read_text()) == (0, [], ""), result.stderr
    (workspace / "pyproject.toml").write_text("[tool.kerasfix]\nselect = ['KF999']\n")
    (workspace / "report.sarif").unlink()
    result, _ = _run_action(tmp_path, workspace, args="src", sarif="true", sarif_file="report.sarif")
    assert result.returncode == 2 and "KF999" in result.stderr
    assert not (workspace / "report.sarif").exists()
