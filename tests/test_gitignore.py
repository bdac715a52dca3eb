"""Walking follows git's ignore rules exactly: nested .gitignore files, negation, anchoring, directory-only
patterns, `**`, .git/info/exclude and the global excludes file. The differential test builds trees of
files and ignore files in a real repository and compares kerasfix's decision for every file with
`git check-ignore`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import LEGACY, cli
from kerasfix.config import Config
from kerasfix.files import collect
from kerasfix.gitignore import PatternList

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(*args: str, cwd: Path, env: dict[str, str] | None = None, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False, timeout=60)


def _isolated_git_env(home: Path, excludes_file: Path | None = None) -> dict[str, str]:
    """Environment variables that keep git (and kerasfix asking git) away from the user's configuration."""
    config = home / "gitconfig"
    config.write_text(f"[core]\n\texcludesFile = {excludes_file}\n" if excludes_file else "", encoding="utf-8")
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg"), "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1"}


def _setenv(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")


def _found(root: Path) -> set[str]:
    found = collect([root], Config(root=root))
    assert not found.missing and not found.unreadable
    return {path.relative_to(root).as_posix() for path in found.files}


def test_a_negation_in_a_nested_gitignore_keeps_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the case: `gen_*.py` ignored at the top, `!keep_gen.py` re-included in app/
    _setenv(monkeypatch, _isolated_git_env(tmp_path))
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git("init", "-q", cwd=repo).returncode == 0
    _write(repo, {".gitignore": "gen_*.py\n", "app/.gitignore": "!keep_gen.py\n", "app/keep_gen.py": LEGACY, "app/gen_x.py": LEGACY})
    assert _git("check-ignore", "-q", "app/keep_gen.py", cwd=repo).returncode == 1  # git: not ignored
    result = cli("check", "--no-cache", "--no-source", ".", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app/keep_gen.py:5:11: KF310" in result.stdout
    assert "gen_x.py" not in result.stdout and "All checks passed" not in result.stdout


def test_info_exclude_and_the_global_excludes_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    global_file = tmp_path / "global-ignore"
    global_file.write_text("scratch_*.py\n!scratch_keep.py\n", encoding="utf-8")
    _setenv(monkeypatch, _isolated_git_env(tmp_path, global_file))
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git("init", "-q", cwd=repo).returncode == 0
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("local/\n", encoding="utf-8")
    _write(repo, {"local/a.py": "", "scratch_1.py": "", "scratch_keep.py": "", "main.py": "", "sub/scratch_2.py": ""})
    assert _found(repo) == {"main.py", "scratch_keep.py"}
    # a .gitignore in the tree overrides both: it is checked first
    _write(repo, {"sub/.gitignore": "!scratch_2.py\n"})
    assert _found(repo) == {"main.py", "scratch_keep.py", "sub/scratch_2.py"}


def test_the_default_global_excludes_file_is_xdg_config_home_git_ignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environment = _isolated_git_env(tmp_path)
    _setenv(monkeypatch, environment)
    _write(Path(environment["XDG_CONFIG_HOME"]), {"git/ignore": "*_pb2.py\n"})
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git("init", "-q", cwd=repo).returncode == 0
    _write(repo, {"model_pb2.py": "", "model.py": ""})
    assert _found(repo) == {"model.py"}


def test_gitignore_applies_only_inside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as git and Ruff: a .gitignore outside a repository means nothing; each repository met has its own rules
    _setenv(monkeypatch, _isolated_git_env(tmp_path))
    _write(tmp_path / "tree", {".gitignore": "*.py\n", "a.py": "", "inner/.gitignore": "b.py\n", "inner/b.py": "", "inner/c.py": ""})
    assert _found(tmp_path / "tree") == {"a.py", "inner/b.py", "inner/c.py"}
    assert _git("init", "-q", cwd=tmp_path / "tree" / "inner").returncode == 0
    assert _found(tmp_path / "tree") == {"a.py", "inner/c.py"}


def test_a_directory_named_on_the_command_line_is_walked_even_when_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _setenv(monkeypatch, _isolated_git_env(tmp_path))
    assert _git("init", "-q", cwd=tmp_path).returncode == 0
    _write(tmp_path, {".gitignore": "generated/\n*_tmp.py\n", "generated/model.py": "", "generated/model_tmp.py": ""})
    assert _found(tmp_path) == set()
    # the patterns above it still apply to what is inside
    assert _found(tmp_path / "generated") == {"model.py"}


def test_a_gitignore_that_is_a_link_or_a_fifo_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _setenv(monkeypatch, _isolated_git_env(tmp_path))
    assert _git("init", "-q", cwd=tmp_path).returncode == 0
    _write(tmp_path, {"patterns": "*.py\n", "a/x.py": "", "b/y.py": ""})
    (tmp_path / "a" / ".gitignore").symlink_to(tmp_path / "patterns")  # git (2.32 on) does not follow it
    os.mkfifo(tmp_path / "b" / ".gitignore")  # opening it would wait for a writer
    assert _found(tmp_path) == {"a/x.py", "b/y.py"}
    assert _git("check-ignore", "a/x.py", cwd=tmp_path).returncode == 1


def test_a_file_git_tracks_is_covered_although_a_pattern_matches_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ignore rules are for untracked files: `git add -f` keeps a file in, even below an ignored directory
    _setenv(monkeypatch, _isolated_git_env(tmp_path))
    assert _git("init", "-q", cwd=tmp_path).returncode == 0
    _write(tmp_path, {".gitignore": "gen/\n*_tmp.py\n", "gen/kept.py": "", "gen/other.py": "", "a_tmp.py": "", "b_tmp.py": ""})
    assert _found(tmp_path) == set()
    assert _git("add", "-f", "gen/kept.py", "a_tmp.py", cwd=tmp_path).returncode == 0
    assert _found(tmp_path) == {"gen/kept.py", "a_tmp.py"}


@pytest.mark.parametrize(
    ("line", "path", "is_dir", "ignored"),
    [
        ("*.py", "a/b.py", False, True),
        ("/b.py", "a/b.py", False, False),
        ("a/*.py", "a/b/c.py", False, False),
        ("a/**/c.py", "a/c.py", False, True),
        ("a/**/c.py", "a/x/y/c.py", False, True),
        ("**/c.py", "x/c.py", False, True),
        ("a/**", "a", True, False),
        ("a/**", "a/b", True, True),
        ("x/", "x", False, False),
        ("x/", "x", True, True),
        ("[!a]*.py", "b.py", False, True),
        ("[!a]*.py", "a.py", False, False),
        ("[]]x", "]x", False, True),
        ("[[:digit:]].py", "7.py", False, True),
        ("[[:nope:]].py", "7.py", False, False),
        ("[a-", "a", False, False),
        ("\\#x", "#x", False, True),
        ("\\!x", "!x", False, True),
        ("x\\ ", "x ", False, True),
        ("x  ", "x", False, True),
        ("caf?.py", "café.py", False, False),  # `?` is one byte, as in git
        ("caf??.py", "café.py", False, True),
        ("a\\", "a", False, False),
    ],
)
def test_single_patterns(line: str, path: str, is_dir: bool, ignored: bool) -> None:
    found = PatternList.from_bytes(line.encode(), "test").match(path.encode(), is_dir)
    assert (found is not None and not found.negative) is ignored


# --- the differential test --------------------------------------------------------------------------

DIRECTORIES = ["a", "b", "gen", "keep"]
FILES = ["x.py", "keep_gen.py", "gen_1.py", "a.py", "y.pyi", "n.ipynb", "Gen.py", "café.py", "[x].py"]
SEGMENTS = [
    "a", "b", "gen", "keep", "*", "**", "?", "x.py", "gen_*", "*.py", "*_gen.py", "keep_gen.py", "[gk]*",
    "[!a]*", "[a-c]", "*.py[io]", "[[:alpha:]]*.py", "caf?.py", "caf??.py", "\\[x].py", "gen_[0-9].py", "G*",
    "*.ipynb", "[x", "a\\", "\\*",
]
LINES = ["# x.py", "", "   ", "x.py   ", "x.py\\ ", "\\!x.py", "\\#x", "x.py\r", "!", "/", "**", "!**/", "*"]

segments = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).map("/".join)
pattern_lines = st.one_of(
    st.builds(lambda bang, lead, body, trail: bang + lead + body + trail,
              st.sampled_from(["", "", "!"]), st.sampled_from(["", "", "/"]), segments, st.sampled_from(["", "", "/"])),
    st.sampled_from(LINES),
)
ignore_files = st.lists(pattern_lines, max_size=5)
directories = st.lists(st.sampled_from(DIRECTORIES), max_size=3).map("/".join)
trees = st.lists(st.tuples(directories, st.sampled_from(FILES)), min_size=1, max_size=12, unique=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=trees,
    gitignores=st.dictionaries(directories, ignore_files, max_size=4),
    info_exclude=ignore_files,
    global_excludes=ignore_files,
    tracked=st.lists(st.integers(min_value=0, max_value=11), max_size=2),
)
def test_the_walk_agrees_with_git_check_ignore(tree, gitignores, info_exclude, global_excludes, tracked) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        home = Path(temporary)
        repo = home / "repo"
        repo.mkdir()
        global_file = home / "global-ignore"
        global_file.write_text("\n".join(global_excludes) + "\n", encoding="utf-8")
        environment = {**os.environ, **_isolated_git_env(home, global_file)}
        assert _git("init", "-q", cwd=repo, env=environment).returncode == 0
        (repo / ".git" / "info").mkdir(exist_ok=True)
        (repo / ".git" / "info" / "exclude").write_text("\n".join(info_exclude) + "\n", encoding="utf-8")
        files = sorted({f"{directory}/{name}" if directory else name for directory, name in tree})
        _write(repo, {name: "" for name in files})
        for directory, lines in gitignores.items():
            _write(repo, {f"{directory}/.gitignore" if directory else ".gitignore": "\n".join(lines) + "\n"})

        # a few files in git's index (`git add -f`): ignore rules do not apply to tracked files. (check-ignore
        # knows, but reads its arguments as globs: `a/[x].py` would stand for the tracked `a/x.py`. So it
        # runs with --no-index, which matches patterns only, and the tracked files are taken out here.)
        added = {files[index] for index in tracked if index < len(files)}
        if added:
            literal = {**environment, "GIT_LITERAL_PATHSPECS": "1"}
            assert _git("add", "-f", "--", *sorted(added), cwd=repo, env=literal).returncode == 0
        check = _git("check-ignore", "--no-index", "-z", "--stdin", cwd=repo, env=environment, input="\0".join(files).encode() + b"\0")
        assert check.returncode in (0, 1), check.stderr
        ignored = {os.fsdecode(name) for name in check.stdout.split(b"\0") if name} - added
        with mock.patch.dict(os.environ, environment):
            assert _found(repo) == set(files) - ignored
