"""Which files a run covers: walking paths, honouring .gitignore and `exclude`, .py and .ipynb only."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from kerasfix.config import Config
from kerasfix.gitignore import Pattern, PatternList, Repository, repository_root

SUFFIXES = (".py", ".pyi", ".ipynb")
# Directories no one wants linted; `exclude` in the config adds to these.
DEFAULT_EXCLUDE = [
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".kerasfix_cache", ".ipynb_checkpoints", "build", "dist",
    "node_modules", "site-packages", ".eggs", "*.egg-info",
]


class PathError(Exception):
    """A path the user gave that does not exist."""


@dataclass
class Discovery:
    """What a run covers, and what it could not: each for the user to hear about."""

    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # paths given that do not exist, as messages
    skipped: list[str] = field(default_factory=list)  # paths given that --force-exclude left out, as messages
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # directories that could not be listed


def _spec(patterns: list[str]) -> pathspec.PathSpec:
    return pathspec.PathSpec.from_lines("gitwildmatch", patterns)


def _real(path: Path) -> Path:
    """The path with the links of its directories resolved, but not a link it ends in (a link found
    or named is judged where it stands), and never an error for a link loop."""
    absolute = os.path.abspath(path)
    return Path(os.path.realpath(os.path.dirname(absolute))) / os.path.basename(absolute)


def _relative(path: Path, root: Path) -> str | None:
    try:
        return _real(path).relative_to(root).as_posix()
    except ValueError:
        return None


class _Exclude:
    """kerasfix's default excludes, then `exclude` and `extend-exclude`, as one gitignore-style list
    relative to the configuration's directory (the last pattern that matches decides)."""

    def __init__(self, config: Config) -> None:
        where = config.path.name if config.path is not None else "the configuration"
        entries = [(line.encode(), "kerasfix's default exclude", None) for line in DEFAULT_EXCLUDE]
        entries += [(line.encode(), f"`exclude` in {where}", None) for line in config.exclude]
        entries += [(line.encode(), f"`extend-exclude` in {where}", None) for line in config.extend_exclude]
        self.patterns = PatternList(entries)
        self.root = config.root

    def decision(self, relative: str | None, name: str, is_dir: bool) -> Pattern | None:
        """The pattern deciding for a path `relative` to the configuration's directory (None when it
        is outside it: then the patterns see its `name` alone)."""
        return self.patterns.match(os.fsencode(relative if relative not in (None, ".") else name), is_dir)

    def excluded(self, relative: str | None, name: str, is_dir: bool) -> bool:
        found = self.decision(relative, name, is_dir)
        return found is not None and not found.negative

    def why_excluded(self, path: Path, is_dir: bool) -> str | None:
        """For --force-exclude: why `path` (named on the command line) is excluded, if it is: it or
        a directory above it (up to the configuration's directory) matches."""
        relative = _relative(path, self.root)
        if relative == ".":
            return None  # the configuration's own directory
        chain: list[str | None] = [relative]
        if relative is not None:
            parts = relative.split("/")
            chain = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        for position, step in enumerate(chain):
            last = position == len(chain) - 1
            name = _real(path).name if step is None else step.rpartition("/")[2]
            found = self.decision(step, name, is_dir if last else True)
            if found is not None and not found.negative:
                what = "it" if last else f"its directory {step}/"
                return f"{what} matches `{found.text}` ({found.source})"
        return None


class _Walker:
    """Walks directories as git would list them: .gitignore files of each repository met (and its
    .git/info/exclude and global excludes file) and `exclude`; symbolic links are not followed."""

    def __init__(self, config: Config, exclude: _Exclude, found: Discovery) -> None:
        self.config = config
        self.exclude = exclude
        self.found = found
        self.repositories: dict[Path, Repository] = {}
        self.files: dict[str, Path] = {}

    def repository(self, root: Path) -> Repository:
        if root not in self.repositories:
            self.repositories[root] = Repository(root)
        return self.repositories[root]

    def walk(self, top: Path) -> None:
        repository, relative = None, ""
        configured = _relative(top, self.exclude.root)  # the path below the configuration's directory
        if self.config.respect_gitignore:
            real = Path(os.path.realpath(top))
            root = repository_root(real)
            if root is not None:
                repository = self.repository(root)
                relative = real.relative_to(root).as_posix()
                relative = "" if relative == "." else relative
        # `ignored_above`: inside a directory git ignores, where only files it tracks are covered
        pending = [(top, repository, relative, configured, False)]
        while pending:
            directory, repository, relative, configured, ignored_above = pending.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError as error:
                self.found.unreadable.append((directory, f"cannot read directory: {error.strerror or error}"))
                continue
            below: list[tuple[Path, Repository | None, str, str | None, bool]] = []
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_symlink():
                        continue
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False  # reported when it is read
                if not is_dir and not name.endswith(SUFFIXES):
                    continue
                inside = None if configured is None else name if configured == "." else f"{configured}/{name}"
                if self.exclude.excluded(inside, name, is_dir):
                    continue
                child = f"{relative}/{name}" if relative else name
                hidden = ignored_above
                if repository is not None and (hidden or repository.ignored(child, is_dir)):
                    # git ignores it, unless it tracks it (or, for a directory, tracks something inside)
                    tracked_files, tracked_directories = repository.tracked_ignored()
                    if child not in (tracked_directories if is_dir else tracked_files):
                        continue
                    hidden = True
                path = directory / name
                if not is_dir:
                    # a FIFO, socket or device named like a source file is kept: reading it reports what it is
                    self.files.setdefault(os.path.normpath(path), path)
                elif self.config.respect_gitignore and os.path.lexists(os.path.join(entry.path, ".git")):
                    below.append((path, self.repository(Path(os.path.realpath(path))), "", inside, False))  # a repository of its own
                else:
                    below.append((path, repository, child, inside, hidden))
            pending.extend(reversed(below))


def collect(paths: list[Path], config: Config, force_exclude: bool = False) -> Discovery:
    """The source files under `paths`, sorted, each once, and what could not be covered.

    A file named on the command line is checked whatever its name, `exclude` and .gitignore say,
    unless `force_exclude` and `exclude` matches it or a directory above it. Walking a directory
    (also one that is ignored, when named) skips symbolic links, what `exclude` matches and what git
    ignores (a file git tracks is never ignored: kerasfix/gitignore.py).
    A path that does not exist is reported in `missing`; the others are still covered.
    """
    found = Discovery()
    exclude = _Exclude(config)
    walker = _Walker(config, exclude, found)
    for given in paths:
        try:
            is_dir = stat.S_ISDIR(os.stat(given).st_mode)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                link = f" (a symbolic link to {os.readlink(given)}, which does not exist)" if os.path.islink(given) else ""
                found.missing.append(f"{given}: no such file or directory{link}")
                continue
            is_dir = False  # a link loop, a directory without permission: reported when the file is read
        if force_exclude:
            why = exclude.why_excluded(given, is_dir)
            if why is not None:
                found.skipped.append(f"{given}: skipped because of --force-exclude: {why}")
                continue
        if is_dir:
            walker.walk(given)
        else:
            walker.files.setdefault(os.path.normpath(given), given)
    found.files = [walker.files[key] for key in sorted(walker.files)]
    return found


def discover(paths: list[Path], config: Config) -> list[Path]:
    """The source files under `paths` (see `collect`); PathError for the first path that does not exist."""
    found = collect(paths, config)
    if found.missing:
        raise PathError(found.missing[0])
    return found.files


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
