"""Gitignore patterns matched as git matches them (git's dir.c and wildmatch.c, ported to regular expressions).

A `PatternList` is the patterns of one source (a `.gitignore`, `.git/info/exclude`, the global excludes
file, kerasfix's `exclude`): the last pattern that matches a path decides, `!` re-includes, a trailing
`/` matches directories only, a pattern with a `/` before its end is anchored to the list's directory
and one without matches the name at any depth, `*` and `?` never match `/`, `**` between slashes spans
directories. Paths are matched as bytes, as git does, so `?` is one byte of a UTF-8 name.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kerasfix.source import SourceError, read_file

_ASCII_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"alpha": frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset([*range(0x20), 0x7F]),
    b"digit": frozenset(b"0123456789"),
    b"graph": frozenset(range(0x21, 0x7F)),
    b"lower": frozenset(b"abcdefghijklmnopqrstuvwxyz"),
    b"print": frozenset(range(0x20, 0x7F)),
    b"punct": frozenset(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    b"space": frozenset(b" \t\n\r"),  # git's own isspace: no \v or \f
    b"upper": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"xdigit": frozenset(b"0123456789abcdefABCDEF"),
}
_SLASH = ord("/")


@dataclass(frozen=True)
class Pattern:
    """One pattern line, for messages: where it came from and what it says."""

    text: str
    source: str
    line: int | None
    negative: bool


class PatternList:
    """The patterns of one file (or list), relative to the directory they belong to."""

    def __init__(self, entries: list[tuple[bytes, str, int | None]], *, ignorecase: bool = False) -> None:
        """`entries`: each line with the source it comes from and its line number there."""
        self.patterns: list[Pattern] = []
        file_alternatives: list[bytes] = []
        dir_alternatives: list[bytes] = []
        for raw, source, number in entries:
            parsed = _parse(raw)
            if parsed is None:
                continue
            regex, negative, dir_only = parsed
            index = len(self.patterns)
            self.patterns.append(Pattern(raw.decode("utf-8", "surrogateescape").rstrip("\r"), source, number, negative))
            if regex is None:  # a pattern git can never match (an unclosed `[`, a trailing `\`)
                continue
            alternative = b"(?P<p%d>%s)" % (index, regex)
            dir_alternatives.append(alternative)
            if not dir_only:
                file_alternatives.append(alternative)
        # Alternatives in reverse order: the first one that matches is the last pattern that does.
        flags = re.DOTALL | (re.IGNORECASE if ignorecase else 0)
        self._file = _compile(file_alternatives, flags)
        self._dir = _compile(dir_alternatives, flags)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, relative: bytes, is_dir: bool) -> Pattern | None:
        """The last pattern matching `relative` (a path below this list's directory, `/`-separated)."""
        regex = self._dir if is_dir else self._file
        if regex is None:
            return None
        found = regex.match(relative)
        if found is None:
            return None
        return self.patterns[int(found.lastgroup[1:])]

    @classmethod
    def from_file(cls, path: Path, source: str | None = None, *, ignorecase: bool = False) -> PatternList | None:
        """The patterns of a file, None when it is not a regular file that can be read (a FIFO is never opened)."""
        try:
            data = read_file(path)
        except SourceError:
            return None
        return cls.from_bytes(data, source or str(path), ignorecase=ignorecase)

    @classmethod
    def from_bytes(cls, data: bytes, source: str, *, ignorecase: bool = False) -> PatternList:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return cls([(line, source, number) for number, line in enumerate(data.split(b"\n"), start=1)], ignorecase=ignorecase)


def _compile(alternatives: list[bytes], flags: int) -> re.Pattern[bytes] | None:
    if not alternatives:
        return None
    return re.compile(b"(?:" + b"|".join(reversed(alternatives)) + b")\\Z", flags)


def _parse(line: bytes) -> tuple[bytes | None, bool, bool] | None:
    """A line as (regex, negative, directory only); None for blank lines and comments."""
    if not line or line.startswith(b"#"):
        return None
    if line.endswith(b"\r"):
        line = line[:-1]
    line = _trim_trailing_spaces(line)
    negative = line.startswith(b"!")
    if negative:
        line = line[1:]
    dir_only = line.endswith(b"/")
    if dir_only:
        line = line[:-1]
    if not line:
        return None  # git keeps an empty pattern, which matches nothing
    if b"/" in line:
        # anchored: matched against the path below the list's directory (a leading `/` only says so)
        body = _translate(line[1:] if line.startswith(b"/") else line, basename=False)
        return body, negative, dir_only
    body = _translate(line, basename=True)
    return (None if body is None else b"(?:.*/)?" + body), negative, dir_only


def _trim_trailing_spaces(line: bytes) -> bytes:
    """Trailing spaces go unless escaped with a backslash (git's trim_trailing_spaces)."""
    last_space = None
    index = 0
    while index < len(line):
        char = line[index]
        if char == 0x20:
            if last_space is None:
                last_space = index
        elif char == 0x5C:
            index += 1
            if index >= len(line):
                return line
            last_space = None
        else:
            last_space = None
        index += 1
    return line if last_space is None else line[:last_space]


def _translate(pattern: bytes, basename: bool) -> bytes | None:
    """git's wildmatch as a regular expression (WM_PATHNAME for anchored patterns; a name's patterns
    never see a `/`); None when wildmatch can never match the pattern."""
    out: list[bytes] = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if char == 0x5C:  # backslash: the next byte is literal; a trailing one matches nothing
            if index + 1 >= length:
                return None
            out.append(_literal(pattern[index + 1]))
            index += 2
        elif char == 0x3F:  # ?
            out.append(b"[^/]")
            index += 1
        elif char == 0x2A:  # *
            end = index
            while end < length and pattern[end] == 0x2A:
                end += 1
            rest = pattern[end:]
            special = not basename and end - index >= 2 and (index == 0 or pattern[index - 1] == _SLASH)
            if special and not rest:
                out.append(b".*")  # a trailing `**` matches everything below
            elif special and rest.startswith(b"/"):
                out.append(b"(?:.*/)?")  # `**/`: zero or more directories
                end += 1
            elif special and rest.startswith(b"\\/"):
                out.append(b".*")
            else:
                out.append(b"[^/]*")
            index = end
        elif char == 0x5B:  # [
            bracket = _bracket(pattern, index)
            if bracket is None:
                return None
            regex, index = bracket
            out.append(regex)
        else:
            out.append(_literal(char))
            index += 1
    return b"".join(out)


def _literal(char: int) -> bytes:
    return b"\\x%02x" % char


def _bracket(pattern: bytes, start: int) -> tuple[bytes, int] | None:
    """A bracket expression from `start` (its `[`) as a character class and the index after it, as
    wildmatch reads one: `!` or `^` negates, `]` first is literal, ranges, [:class:], backslash
    escapes; it never matches `/`. None when it is not closed or names an unknown class."""
    length = len(pattern)
    position = start + 1
    if position >= length:
        return None
    negated = pattern[position] in (0x21, 0x5E)
    if negated:
        position += 1
    members: set[int] = set()
    previous = 0
    first = True
    while True:
        if position >= length:
            return None
        char = pattern[position]
        if char == 0x5D and not first:  # ]
            break
        first = False
        if char == 0x5C:
            position += 1
            if position >= length:
                return None
            char = pattern[position]
            members.add(char)
        elif char == 0x2D and previous and position + 1 < length and pattern[position + 1] != 0x5D:
            position += 1
            high = pattern[position]
            if high == 0x5C:
                position += 1
                if position >= length:
                    return None
                high = pattern[position]
            members.update(range(previous, high + 1))
            char = 0
        elif char == 0x5B and position + 1 < length and pattern[position + 1] == 0x3A:
            name_start = position + 2
            close = pattern.find(b"]", name_start)
            if close < 0:
                return None
            if close - name_start - 1 < 0 or pattern[close - 1] != 0x3A:
                members.add(0x5B)  # not a class after all: a literal `[`, and reading goes on after it
            else:
                chars = _ASCII_CLASSES.get(pattern[name_start : close - 1])
                if chars is None:
                    return None
                members.update(chars)
                char = 0
                position = close
        else:
            members.add(char)
        previous = char
        position += 1
    allowed = (set(range(256)) - members if negated else members) - {_SLASH}
    if not allowed:
        return None
    return b"[" + b"".join(_ranges(sorted(allowed))) + b"]", position + 1


def _ranges(values: list[int]) -> list[bytes]:
    parts: list[bytes] = []
    start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(_literal(start) if start == previous else _literal(start) + b"-" + _literal(previous))
        if value is not None:
            start = previous = value
    return parts


# --- a repository's ignore rules ------------------------------------------------------------------


def repository_root(directory: Path) -> Path | None:
    """The nearest directory at or above `directory` holding `.git` (a directory, or a file as in
    worktrees and submodules)."""
    for candidate in (directory, *directory.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


class Repository:
    """The ignore rules of one git working tree: `.gitignore` files, `.git/info/exclude` and the
    global excludes file (`core.excludesFile`, by default `$XDG_CONFIG_HOME/git/ignore`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        excludes_file, self.ignorecase = _git_settings(root)
        # git checks .git/info/exclude before the global file; both are relative to the root
        self.shared = [
            lst
            for lst in (
                PatternList.from_file(_git_dir(root) / "info" / "exclude", ignorecase=self.ignorecase),
                PatternList.from_file(excludes_file, ignorecase=self.ignorecase) if excludes_file else None,
            )
            if lst
        ]
        # the .gitignore lists that apply inside a directory (key: its path below the root), deepest last
        self._stacks: dict[str, tuple[tuple[str, PatternList], ...]] = {}
        self._tracked: tuple[frozenset[str], frozenset[str]] | None = None

    def stack(self, relative: str) -> tuple[tuple[str, PatternList], ...]:
        """The .gitignore lists that apply to entries of the directory `relative` ('' for the root)."""
        cached = self._stacks.get(relative)
        if cached is not None:
            return cached
        parent = self.stack(relative.rpartition("/")[0]) if relative else ()
        directory = self.root / relative if relative else self.root
        # git reads a .gitignore only when it is a regular file (it does not follow links to one)
        path = directory / ".gitignore"
        own = None
        try:
            if os.path.isfile(path) and not os.path.islink(path):
                own = PatternList.from_file(path, ignorecase=self.ignorecase)
        except OSError:
            own = None
        stack = (*parent, (relative, own)) if own else parent
        self._stacks[relative] = stack
        return stack

    def decision(self, relative: str, is_dir: bool) -> Pattern | None:
        """The pattern that decides whether the entry `relative` (below the root) is ignored, if any,
        given that no directory above it is: the deepest .gitignore with a matching pattern, then
        .git/info/exclude, then the global file."""
        directory = relative.rpartition("/")[0]
        encoded = os.fsencode(relative)
        for base, patterns in reversed(self.stack(directory)):
            below = encoded[len(os.fsencode(base)) + 1 :] if base else encoded
            found = patterns.match(below, is_dir)
            if found is not None:
                return found
        for patterns in self.shared:
            found = patterns.match(encoded, is_dir)
            if found is not None:
                return found
        return None

    def ignored(self, relative: str, is_dir: bool) -> bool:
        found = self.decision(relative, is_dir)
        return found is not None and not found.negative

    def tracked_ignored(self) -> tuple[frozenset[str], frozenset[str]]:
        """Files git tracks although a pattern ignores them (ignore rules do not apply to tracked
        files), and the directories holding them, as git's index has them; empty without git."""
        if self._tracked is None:
            files: frozenset[str] = frozenset()
            try:
                run = subprocess.run(
                    ["git", "ls-files", "-z", "--cached", "--ignored", "--exclude-standard"],
                    cwd=self.root,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
                if run.returncode == 0:
                    files = frozenset(os.fsdecode(name) for name in run.stdout.split(b"\0") if name)
            except (OSError, subprocess.SubprocessError):
                pass
            directories = frozenset(name[:index] for name in files for index, char in enumerate(name) if char == "/")
            self._tracked = (files, directories)
        return self._tracked


def _git_dir(root: Path) -> Path:
    """The directory holding info/exclude: `.git`, or for a linked worktree the common git directory."""
    dot_git = root / ".git"
    if not dot_git.is_file():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return dot_git
    if not text.startswith("gitdir:"):
        return dot_git
    git_dir = (root / text[len("gitdir:") :].strip()).resolve()
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    return (git_dir / common).resolve()


def _git_settings(root: Path) -> tuple[Path | None, bool]:
    """`core.excludesFile` (or its default) and `core.ignoreCase`, read by git itself from every
    configuration file that applies to the repository; without git, the default file and False."""
    values: dict[str, str] = {}
    try:
        run = subprocess.run(
            ["git", "config", "-z", "--get-regexp", r"^core\.(excludesfile|ignorecase)$"],
            cwd=root,
            capture_output=True,
            timeout=30,
            check=False,
        )
        for record in run.stdout.split(b"\0"):
            key, _, value = record.partition(b"\n")
            if key:
                values[key.decode("utf-8", "replace").lower()] = os.fsdecode(value)
    except (OSError, subprocess.SubprocessError):
        pass
    excludes = values.get("core.excludesfile")
    if excludes:
        path = Path(os.path.expanduser(excludes))
        excludes_file: Path | None = path if path.is_absolute() else root / path
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME")
        home = os.environ.get("HOME")
        excludes_file = Path(xdg) / "git" / "ignore" if xdg else Path(home) / ".config" / "git" / "ignore" if home else None
    ignorecase = values.get("core.ignorecase", "false").strip().lower() in ("true", "yes", "on", "1")
    return excludes_file, ignorecase
