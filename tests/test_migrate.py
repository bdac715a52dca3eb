"""`migrate` rewrites only what it must: encodings, line endings, permissions and other bytes survive."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import cli, run_kerasfix

LEGACY = (
    "from keras.layers import Input, Dense, merge\n"
    "from keras.models import Model\n"
    "\n"
    "left = Input(shape=(8,))\n"
    "right = Input(shape=(8,))\n"
    "joined = merge([left, right], mode='concat')  # keep this comment\n"
    "out = Dense(1)(joined)\n"
    "model = Model(input=[left, right], output=out)\n"
)
MIGRATED = (
    "from keras.layers import Input, Dense, concatenate\n"
    "from keras.models import Model\n"
    "\n"
    "left = Input(shape=(8,))\n"
    "right = Input(shape=(8,))\n"
    "joined = concatenate([left, right])  # keep this comment\n"
    "out = Dense(1)(joined)\n"
    "model = Model(inputs=[left, right], outputs=out)\n"
)


def test_migrate_rewrites_in_place_and_is_idempotent(tmp_path: Path) -> None:
    # in a process of its own, as users run it; the other single-process tests below run it in this one
    path = tmp_path / "model.py"
    path.write_text(LEGACY)
    first = run_kerasfix("migrate", str(path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert path.read_text() == MIGRATED
    assert "fixed 2" in first.stdout
    second = run_kerasfix("migrate", "--check", str(path))
    assert second.returncode == 0
    assert path.read_text() == MIGRATED
    assert run_kerasfix("check", str(path)).returncode == 0


def test_check_and_diff_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(LEGACY)
    check = cli("migrate", "--check", str(path))
    assert check.returncode == 1
    diff = cli("migrate", "--diff", str(path))
    assert diff.returncode == 1
    assert "-joined = merge([left, right], mode='concat')  # keep this comment" in diff.stdout
    assert "+joined = concatenate([left, right])  # keep this comment" in diff.stdout
    assert path.read_text() == LEGACY


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_bytes(LEGACY.replace("\n", "\r\n").encode())
    assert cli("migrate", str(path)).returncode == 0
    assert path.read_bytes() == MIGRATED.replace("\n", "\r\n").encode()


def test_bom_and_latin1_cookie_are_kept(tmp_path: Path) -> None:
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf# caf\xc3\xa9\n" + LEGACY.encode())
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + LEGACY.encode())
    assert cli("migrate", str(bom), str(latin)).returncode == 0
    assert bom.read_bytes() == b"\xef\xbb\xbf# caf\xc3\xa9\n" + MIGRATED.encode()
    assert latin.read_bytes() == b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + MIGRATED.encode()


def test_permissions_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(LEGACY)
    path.chmod(0o750)
    assert cli("migrate", str(path)).returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert path.read_text() == MIGRATED
    assert not [p for p in tmp_path.iterdir() if p.name != "train.py"], "temporary files left behind"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files; the check below covers the rule")
def test_read_only_file_is_reported_and_others_fixed(tmp_path: Path) -> None:  # pragma: no cover - non-root
    locked = tmp_path / "locked.py"
    locked.write_text(LEGACY)
    locked.chmod(0o444)
    other = tmp_path / "other.py"
    other.write_text(LEGACY)
    result = cli("migrate", str(tmp_path))
    assert result.returncode == 1
    assert "read-only" in result.stdout
    assert locked.read_text() == LEGACY
    assert other.read_text() == MIGRATED


def test_read_only_file_is_never_written_even_by_root(tmp_path: Path) -> None:
    locked = tmp_path / "locked.py"
    locked.write_text(LEGACY)
    locked.chmod(0o444)
    other = tmp_path / "other.py"
    other.write_text(LEGACY)
    result = cli("migrate", str(tmp_path))
    assert result.returncode == 1
    assert "locked.py" in result.stdout and "read-only" in result.stdout
    assert locked.read_text() == LEGACY
    assert other.read_text() == MIGRATED


def test_unparsable_file_is_reported_and_others_fixed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from keras.layers import merge\ndef build(:\n    pass\n")
    good = tmp_path / "good.py"
    good.write_text(LEGACY)
    result = cli("migrate", str(tmp_path))
    assert result.returncode == 1
    assert "broken.py:2" in result.stdout and "syntax error" in result.stdout
    assert good.read_text() == MIGRATED
    assert broken.read_text() == "from keras.layers import merge\ndef build(:\n    pass\n"


def test_symlinks_are_skipped_when_walking_and_never_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "real.py"
    target.write_text(LEGACY)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(target)
    result = cli("migrate", str(tree))
    assert result.returncode == 0
    assert target.read_text() == LEGACY
    explicit = cli("migrate", str(tree / "link.py"))
    assert explicit.returncode == 1 and "symbolic link" in explicit.stdout
    assert target.read_text() == LEGACY
    assert cli("check", str(tree / "link.py")).returncode == 1  # check follows an explicit link


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("migrate", str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_unsafe_fixes_only_on_request(tmp_path: Path) -> None:
    path = tmp_path / "cos.py"
    path.write_text("from keras.layers import merge\nsim = merge([u, v], mode='cos', dot_axes=1)\n")
    safe = cli("migrate", str(path))
    assert safe.returncode == 1 and "--unsafe-fixes" in safe.stdout
    assert "merge" in path.read_text()
    unsafe = cli("migrate", "--unsafe-fixes", str(path))
    assert unsafe.returncode == 0
    assert path.read_text() == "from keras.layers import dot\nsim = dot([u, v], axes=1, normalize=True)\n"


def test_target_decides_new_imports_only_without_a_style(tmp_path: Path) -> None:
    path = tmp_path / "star.py"
    code = "from keras.layers.merge import *\nx = merge([a, b], mode='concat')\n"
    path.write_text(code)
    # KF101 alone: the module rename (KF303) would otherwise turn the star import into keras.layers
    assert cli("migrate", "--select", "KF101", str(path)).returncode == 0
    assert path.read_text() == "from keras.layers.merge import *\nfrom keras.layers import concatenate\nx = concatenate([a, b])\n"


def test_parallel_migrate_writes_and_reports_what_one_process_does(tmp_path: Path) -> None:
    # enough files for worker processes; the report comes in file order and the files end up the same
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    programs = [p for p in sorted((fixtures / "scripts").glob("*.py")) + sorted((fixtures / "functional").glob("*.py")) if not p.name.endswith(".fixed.py")]
    trees = {}
    for jobs in ("1", "2"):
        tree = tmp_path / f"jobs{jobs}"
        for copy in range(3):
            for program in programs:
                target = tree / f"c{copy}" / program.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(program.read_bytes())
        trees[jobs] = tree
    assert sum(1 for _ in trees["1"].rglob("*.py")) >= 16
    diffs = {jobs: run_kerasfix("migrate", "--diff", "--unsafe-fixes", "--jobs", jobs, ".", cwd=tree) for jobs, tree in trees.items()}
    assert diffs["1"].returncode == diffs["2"].returncode == 1
    assert diffs["1"].stdout == diffs["2"].stdout and "+++ " in diffs["1"].stdout
    runs = {jobs: run_kerasfix("migrate", "--unsafe-fixes", "--jobs", jobs, ".", cwd=tree) for jobs, tree in trees.items()}
    assert runs["1"].stdout == runs["2"].stdout and runs["1"].returncode == runs["2"].returncode
    for path in trees["1"].rglob("*.py"):
        assert path.read_bytes() == (trees["2"] / path.relative_to(trees["1"])).read_bytes(), path.name
