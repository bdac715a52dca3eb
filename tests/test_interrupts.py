"""Writes that cannot be lost: `migrate` stopped by SIGINT or SIGTERM part-way through a large tree,
a full disk and a permission error on one file. Every file ends up either exactly as it was or exactly
migrated, never truncated or missing, and no temporary file is left behind.

File modes, encodings and a read-only file are covered in test_migrate.py.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import LEGACY, MIGRATED, ROOT, cli, shown

FIXTURE = ROOT / "fixtures" / "scripts" / "keras1_cnn.py"
COPIES = 300
TEMPORARY_SUFFIX = ".kerasfix-tmp"  # write_atomically's temporaries: .<name>.<random>.kerasfix-tmp


@pytest.fixture(scope="module")
def migrated_fixture(tmp_path_factory) -> bytes:
    """The fixture as a clean, uninterrupted run migrates it."""
    copy = tmp_path_factory.mktemp("clean") / "model.py"
    shutil.copyfile(FIXTURE, copy)
    result = cli("migrate", "--isolated", "--unsafe-fixes", str(copy))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    migrated = copy.read_bytes()
    assert migrated != FIXTURE.read_bytes()
    return migrated


def _tree(root: Path) -> list[Path]:
    files = []
    for index in range(COPIES):
        directory = root / f"part{index // 30:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"model_{index:03d}.py"
        shutil.copyfile(FIXTURE, path)
        files.append(path)
    return files


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_leaves_every_file_whole(tmp_path: Path, migrated_fixture: bytes, signum: int) -> None:
    original = FIXTURE.read_bytes()
    files = _tree(tmp_path / "tree")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "kerasfix", "migrate", "--isolated", "--unsafe-fixes", "--quiet", str(tmp_path / "tree")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell without job control starts background jobs with SIGINT ignored; the user's Ctrl-C is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if any(path.read_bytes() != original for path in files[:20]):
                break  # the run is writing: interrupt it now
            time.sleep(0.005)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    expected_code = 130 if signum == signal.SIGINT else 128 + signal.SIGTERM
    assert process.returncode == expected_code, (process.returncode, stdout[-2000:], stderr[-2000:])
    assert ("kerasfix: interrupted" if signum == signal.SIGINT else "kerasfix: terminated") in stderr
    assert "Traceback" not in stderr

    states = []
    for path in files:
        data = path.read_bytes()
        assert data in (original, migrated_fixture), f"{path.name} is neither the original nor the migrated file ({len(data)} bytes)"
        states.append(data == migrated_fixture)
    assert any(states), "nothing was migrated before the signal"
    assert not all(states), "the run finished before the signal; nothing was interrupted"
    assert _all_files(tmp_path / "tree") == set(files), "temporary files left behind"


@pytest.mark.parametrize(
    "failure",
    ["disk full while writing", "no permission to create the temporary file"],
)
def test_a_failed_write_is_reported_and_the_other_files_are_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    names = ["a.py", "victim.py", "z.py"]
    for name in names:
        (tmp_path / name).write_text(LEGACY)
    victim_fds: set[int] = set()
    failed: list[int] = []
    real_mkstemp, real_fsync = tempfile.mkstemp, os.fsync

    def mkstemp(*args, **kwargs):
        if kwargs.get("prefix", "").startswith(".victim.py."):
            if failure.startswith("no permission"):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path))
            descriptor, name = real_mkstemp(*args, **kwargs)
            victim_fds.add(descriptor)
            return descriptor, name
        return real_mkstemp(*args, **kwargs)

    def fsync(descriptor):
        if descriptor in victim_fds:
            victim_fds.discard(descriptor)  # the number is free for the next file once this one fails
            failed.append(descriptor)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(descriptor)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "fsync", fsync)

    result = cli("migrate", "--isolated", *names, cwd=tmp_path)  # in this process, where the failures are patched in
    out = result.stdout
    assert result.returncode == 1, out
    reason = os.strerror(errno.EACCES if failure.startswith("no permission") else errno.ENOSPC)
    assert f"victim.py: error: cannot write the fixed file: {reason}; it was left unchanged" in out
    assert "a.py: fixed 2" in out and "z.py: fixed 2" in out and "victim.py: fixed" not in out and "would fix" not in out
    assert "Fixed 4 findings in 2 files; 1 file could not be processed." in out
    assert (tmp_path / "victim.py").read_text() == LEGACY
    assert (tmp_path / "a.py").read_text() == MIGRATED and (tmp_path / "z.py").read_text() == MIGRATED
    assert sorted(p.name for p in tmp_path.iterdir()) == names, "temporary files left behind"
    if not failure.startswith("no permission"):
        assert failed, "the simulated failure never happened"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may create files in a read-only directory")
def test_a_read_only_directory_is_reported_and_other_directories_migrated(tmp_path: Path) -> None:  # pragma: no cover - non-root
    locked, open_ = tmp_path / "locked", tmp_path / "open"
    locked.mkdir()
    open_.mkdir()
    (locked / "model.py").write_text(LEGACY)
    (open_ / "model.py").write_text(LEGACY)
    locked.chmod(0o555)
    try:
        result = cli("migrate", "--isolated", str(tmp_path))
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"{shown(locked / 'model.py')}: error: cannot write the fixed file: Permission denied" in result.stdout
        assert "1 file could not be processed" in result.stdout
        assert (locked / "model.py").read_text() == LEGACY
        assert (open_ / "model.py").read_text() == MIGRATED
        assert sorted(p.name for p in locked.iterdir()) == ["model.py"]
    finally:
        locked.chmod(0o755)


def test_a_run_stopped_early_leaves_no_pool_thread_running(tmp_path: Path) -> None:
    """Stopping early waits for the pool's manager thread too: one left running at exit races the
    interpreter's wake-up of it, and the user's "interrupted" is followed by a traceback."""
    import threading

    from kerasfix import registry
    from kerasfix.config import Config
    from kerasfix.runner import PARALLEL_THRESHOLD, migrate_paths
    from kerasfix.settings import Settings

    files = _tree(tmp_path / "tree")[: PARALLEL_THRESHOLD * 3]
    before = set(threading.enumerate())
    results = migrate_paths(files, Settings(enabled=registry.default_codes()), Config(root=tmp_path), False, 2)
    first = next(results)
    assert first.path == files[0]
    assert set(threading.enumerate()) - before, "the files were not handed to a pool"
    results.close()  # what the command does when the user's Ctrl-C reaches it between files
    assert set(threading.enumerate()) - before == set()
    assert all(path.read_bytes() == FIXTURE.read_bytes() for path in files)  # write=False
