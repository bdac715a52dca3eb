"""Paths given on the command line and met while walking: a file named explicitly is checked unless
--force-exclude (and a skip is announced), a missing path does not stop the others, and odd things
(FIFOs, sockets, devices, link loops, bad --jobs) are reported for what they are and never block."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LEGACY, MIGRATED, ROOT, cli

# Runs that hung before (a FIFO opened for reading) get a short limit of their own.
HANG_LIMIT = 60


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1", PYTHONSAFEPATH="1")
    return subprocess.run([sys.executable, "-m", "kerasfix", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG_LIMIT)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------- files named explicitly


def _excluding_project(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.kerasfix]\nexclude = ["*_pb2.py", "vendor/"]\n',
            "model_pb2.py": LEGACY,
            "vendor/lib.py": LEGACY,
            "build/out.py": LEGACY,  # excluded by default
            "main.py": LEGACY,
        },
    )


def test_a_file_named_explicitly_is_checked_even_when_excluded(tmp_path: Path) -> None:
    _excluding_project(tmp_path)
    assert cli("check", "--no-cache", ".", cwd=tmp_path).stdout.count("KF310") == 1  # only main.py when walking
    for name in ("model_pb2.py", "vendor/lib.py", "build/out.py"):
        result = cli("check", "--no-cache", "--no-source", name, cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"{name}:5:11: KF310" in result.stdout
        assert not result.stderr


def test_force_exclude_skips_it_and_says_why(tmp_path: Path) -> None:
    _excluding_project(tmp_path)
    cases = {
        "model_pb2.py": "it matches `*_pb2.py` (`exclude` in pyproject.toml)",
        "vendor/lib.py": "its directory vendor/ matches `vendor/` (`exclude` in pyproject.toml)",
        "build/out.py": "its directory build/ matches `build` (kerasfix's default exclude)",
    }
    for name, why in cases.items():
        result = cli("check", "--force-exclude", "--no-cache", name, "main.py", cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"kerasfix: warning: {name}: skipped because of --force-exclude: {why}" in result.stderr
        assert name not in result.stdout and "main.py" in result.stdout
    # all given files skipped: the run passes, and still says what it left out
    result = cli("check", "--force-exclude", "model_pb2.py", cwd=tmp_path)
    assert result.returncode == 0 and "model_pb2.py: skipped" in result.stderr
    # --quiet prints only findings and errors
    assert cli("check", "--force-exclude", "--quiet", "model_pb2.py", cwd=tmp_path).stderr == ""
    # a directory named explicitly is walked, unless --force-exclude
    assert cli("check", "--no-cache", "vendor", cwd=tmp_path).returncode == 1
    assert cli("check", "--force-exclude", "vendor", cwd=tmp_path).returncode == 0


def test_migrate_force_exclude_leaves_the_file_alone(tmp_path: Path) -> None:
    _excluding_project(tmp_path)
    result = cli("migrate", "--force-exclude", "model_pb2.py", "main.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model_pb2.py: skipped because of --force-exclude" in result.stderr
    assert (tmp_path / "model_pb2.py").read_text() == LEGACY and (tmp_path / "main.py").read_text() == MIGRATED
    assert cli("migrate", "model_pb2.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "model_pb2.py").read_text() == MIGRATED


def test_the_pre_commit_hooks_pass_force_exclude() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hooks and all("--force-exclude" in hook["entry"].split() + hook.get("args", []) for hook in hooks)


# ---------------------------------------------------------------------------------- missing paths


def test_a_missing_path_is_reported_and_the_others_are_still_checked(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": LEGACY, "z.py": LEGACY})
    result = cli("check", "--no-cache", "--no-source", "a.py", "nope.py", "gone/", "z.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "a.py:5:11: KF310" in result.stdout and "z.py:5:11: KF310" in result.stdout
    assert "kerasfix: error: nope.py: no such file or directory" in result.stderr
    assert "kerasfix: error: gone: no such file or directory" in result.stderr
    # the other output formats are complete too
    report = cli("check", "--no-cache", "--output-format", "json", "a.py", "nope.py", cwd=tmp_path)
    assert report.returncode == 2 and {item["filename"] for item in json.loads(report.stdout)} == {"a.py"}
    # --exit-zero hides findings, not a path that is not there
    assert cli("check", "--exit-zero", "a.py", "nope.py", cwd=tmp_path).returncode == 2


def test_migrate_migrates_the_others_and_exits_2(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": LEGACY})
    result = cli("migrate", "nope.py", "a.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "kerasfix: error: nope.py: no such file or directory" in result.stderr
    assert (tmp_path / "a.py").read_text() == MIGRATED


def test_a_dangling_link_named_explicitly_is_a_missing_path(tmp_path: Path) -> None:
    (tmp_path / "link.py").symlink_to(tmp_path / "moved.py")
    result = cli("check", "link.py", cwd=tmp_path)
    assert result.returncode == 2
    assert f"link.py: no such file or directory (a symbolic link to {tmp_path / 'moved.py'}, which does not exist)" in result.stderr


# ------------------------------------------------------------------------------------- odd paths


def test_a_fifo_in_a_walked_directory_is_reported_and_does_not_hang(tmp_path: Path) -> None:
    _write(tmp_path, {"good.py": LEGACY})
    os.mkfifo(tmp_path / "x.py")
    for args in (("check", "--no-cache", "--no-source"), ("migrate",)):
        result = run(*args, ".", cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "x.py: error: cannot read file: it is a FIFO (named pipe), not a regular file" in result.stdout
        assert not result.stderr
    assert (tmp_path / "good.py").read_text() == MIGRATED
    # many files: the FIFO goes to a worker process, which must not block either
    _write(tmp_path, {f"m{index}.py": LEGACY for index in range(20)})
    result = run("check", "--no-cache", "--jobs", "2", ".", cwd=tmp_path)
    assert result.returncode == 1 and "it is a FIFO" in result.stdout


def test_a_symlink_loop_named_explicitly_is_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")
    _write(tmp_path, {"good.py": LEGACY})
    for args in (("check", "--no-cache", "--no-source"), ("migrate",)):
        result = run(*args, "loop.py", "good.py", cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "loop.py: error: cannot read file: Too many levels of symbolic links" in result.stdout
        assert "Traceback" not in result.stderr and not result.stderr
    # the first path decides where configuration is searched: a loop there is no crash either
    assert "Traceback" not in run("check", "loop.py", cwd=tmp_path).stderr


def test_devices_sockets_and_fifos_named_explicitly_are_reported(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(tmp_path / "sock.py"))
        expected = {
            "/dev/null": "it is a character device",
            str(fifo): "it is a FIFO (named pipe)",
            str(tmp_path / "sock.py"): "it is a socket",
        }
        for args in (("check", "--no-cache"), ("migrate", "--diff"), ("migrate",)):
            result = run(*args, *expected, cwd=tmp_path)
            assert result.returncode == 1, (args, result.stdout + result.stderr)
            for path, kind in expected.items():
                assert f"{os.path.relpath(path, tmp_path)}: error: cannot read file: {kind}, not a regular file" in result.stdout
            assert "All checks passed" not in result.stdout
    finally:
        listener.close()


@pytest.mark.parametrize("command", ["check", "migrate"])
@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_positive_number(tmp_path: Path, command: str, jobs: str) -> None:
    _write(tmp_path, {"a.py": LEGACY})
    result = cli(command, "--jobs", jobs, "a.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --jobs/-j: must be" in result.stderr
    assert (tmp_path / "a.py").read_text() == LEGACY


def test_a_directory_that_cannot_be_listed_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as root every directory can be listed: the refusal is simulated
    import kerasfix.files

    _write(tmp_path, {"good.py": LEGACY, "locked/inner.py": LEGACY})
    listing = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(kerasfix.files.os, "scandir", scandir)
    for command in ("check", "migrate"):
        result = cli(command, "--no-cache" if command == "check" else "--diff", ".", cwd=tmp_path)
        assert result.returncode == 1
        assert "locked: error: cannot read directory: Permission denied" in result.stdout, result.stdout
        assert "good.py" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_a_directory_without_permission_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, {"good.py": LEGACY, "locked/inner.py": LEGACY})
    (tmp_path / "locked").chmod(0)
    try:
        result = cli("check", "--no-cache", "--no-source", ".", cwd=tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert result.returncode == 1
    assert "locked: error: cannot read directory: Permission denied" in result.stdout
