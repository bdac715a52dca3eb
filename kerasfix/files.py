"""Which files a run covers: walking paths, honouring .gitignore and `exclude`, .py and .ipynb only."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

from kerasfix.config import Config

SUFFIXES = (".py", ".pyi", ".ipynb")
# Directories no one wants linted; `exclude` in the config adds to these.
DEFAULT_EXCLUDE = [
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".kerasfix_cache", ".ipynb_checkpoints", "build", "dist",
    "node_modules", "site-packages", ".eggs", "*.egg-info",
]


class PathError(Exception):
    """A path the user gave that does not exist."""


def _spec(patterns: list[str]) -> pathspec.PathSpec:
    return pathspec.PathSpec.from_lines("gitwildmatch", patterns)


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


class _GitIgnores:
    """The .gitignore files that apply to a directory, read once each."""

    def __init__(self) -> None:
        self.cache: dict[Path, pathspec.PathSpec | None] = {}

    def spec(self, directory: Path) -> pathspec.PathSpec | None:
        if directory not in self.cache:
            path = directory / ".gitignore"
            spec = None
            if path.is_file():
                try:
                    spec = _spec(path.read_text(encoding="utf-8", errors="replace").splitlines())
                except OSError:
                    spec = None
            self.cache[directory] = spec
        return self.cache[directory]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        path = path.resolve()
        for directory in path.parents:
            spec = self.spec(directory)
            if spec is not None:
                relative = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
                if spec.match_file(relative):
                    return True
            if (directory / ".git").exists():
                break
        return False


def discover(paths: list[Path], config: Config) -> list[Path]:
    """The source files under `paths`, sorted, each once.

    Files named on the command line are always included unless `exclude` matches them; files
    found by walking a directory are skipped when excluded, ignored by git, or symbolic links
    (so a run never follows a link out of the tree it was given).
    """
    exclude = _spec(DEFAULT_EXCLUDE + config.exclude + config.extend_exclude)
    gitignores = _GitIgnores()
    found: dict[str, Path] = {}

    def excluded(path: Path, is_dir: bool) -> bool:
        relative = _relative(path, config.root)
        candidates = [path.name + ("/" if is_dir else "")]
        if relative is not None:
            candidates.append(relative + ("/" if is_dir else ""))
        return any(exclude.match_file(candidate) for candidate in candidates)

    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise PathError(f"{given}: no such file or directory")
        if given.is_file():
            if not excluded(given, False):
                found.setdefault(os.path.normpath(given), given)
            continue
        for directory, subdirectories, files in os.walk(given):
            here = Path(directory)
            subdirectories[:] = sorted(
                name
                for name in subdirectories
                if not (here / name).is_symlink()
                and not excluded(here / name, True)
                and not (config.respect_gitignore and gitignores.ignored(here / name, True))
            )
            for name in sorted(files):
                path = here / name
                if not name.endswith(SUFFIXES) or path.is_symlink():
                    continue
                if excluded(path, False) or (config.respect_gitignore and gitignores.ignored(path, False)):
                    continue
                found.setdefault(os.path.normpath(path), path)
    return [found[key] for key in sorted(found)]


def ignored_codes(path: Path, config: Config) -> set[str]:
    """Codes that `per-file-ignores` switches off for this file."""
    from kerasfix import registry

    codes: set[str] = set()
    relative = _relative(path, config.root) or path.as_posix()
    for pattern, selectors in config.per_file_ignores.items():
        if _spec([pattern]).match_file(relative) or _spec([pattern]).match_file(path.name):
            for selector in selectors:
                codes |= registry.expand(selector)
    return codes
