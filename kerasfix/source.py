"""Reading sources (.py files and notebook code cells) as text, and writing them back byte-faithfully."""

from __future__ import annotations

import bisect
import contextlib
import glob
import io
import os
import re
import signal
import stat
import tempfile
import threading
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from kerasfix.findings import Location
from kerasfix.notebook import NotebookText
from kerasfix.sourceerror import SourceError


# A line ends as Python ends one: CRLF, CR or LF.
NEWLINE_RE = re.compile(r"\r\n?|\n")


def line_starts(text: str) -> list[int]:
    """The offset each line of `text` starts at."""
    return [0] + [match.end() for match in NEWLINE_RE.finditer(text)]


@dataclass
class Source:
    """Python text to analyse, with what is needed to map positions back and to write it out."""

    path: Path
    text: str
    raw: bytes
    encoding: str = "utf-8"
    notebook: NotebookText | None = None
    _line_starts: list[int] = field(default_factory=list, repr=False)

    @property
    def display(self) -> str:
        return str(self.path)

    def line_starts(self) -> list[int]:
        if not self._line_starts:
            self._line_starts = line_starts(self.text)
        return self._line_starts

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based line and 0-based column."""
        return self.line_starts()[line - 1] + column

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based column of a character offset in `text`."""
        starts = self.line_starts()
        index = bisect.bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index] + 1

    def location(self, offset: int) -> Location:
        line, column = self.position(offset)
        if self.notebook is not None:
            cell, cell_line = self.notebook.cell_of(line)
            return Location(cell_line, column, cell)
        return Location(line, column)

    def line_text(self, line: int) -> str:
        starts = self.line_starts()
        if not 1 <= line <= len(starts):
            return ""
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[starts[line - 1] : end].rstrip("\r\n")

    def render(self, new_text: str) -> bytes:
        """The file's bytes for edited text: same encoding, BOM and notebook layout."""
        if self.notebook is not None:
            return self.notebook.render(new_text)
        return new_text.encode(self.encoding)


def decode_python(raw: bytes) -> tuple[str, str]:
    """Decode Python source bytes the way the interpreter would (BOM, PEP 263 cookie)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot determine the file's encoding: {error}") from None
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        row = raw[: getattr(error, "start", 0)].count(b"\n") + 1
        raise SourceError(f"file is not valid {encoding}: {error.reason if hasattr(error, 'reason') else error}", row=row) from None
    if "\x00" in text:
        raise SourceError("file contains NUL bytes; it is not Python source")
    return text, encoding


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def read_file(path: Path) -> bytes:
    """The bytes of a regular file; SourceError for anything else. The type is checked before the
    file is opened (and again on the open file): opening a FIFO would wait for a writer forever."""
    try:
        kind = _not_regular(os.stat(path).st_mode)
        if kind is None:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
            with open(descriptor, "rb") as handle:
                kind = _not_regular(os.fstat(descriptor).st_mode)
                if kind is None:
                    return handle.read()
    except OSError as error:
        raise SourceError(f"cannot read file: {error.strerror or error}") from None
    raise SourceError(f"cannot read file: it is {kind}, not a regular file")


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_source(path: Path, raw: bytes | None = None) -> Source:
    if raw is None:
        raw = read_file(path)
    if path.suffix == ".ipynb":
        notebook = NotebookText.parse(raw)
        return Source(path=path, text=notebook.text, raw=raw, notebook=notebook)
    text, encoding = decode_python(raw)
    return Source(path=path, text=text, raw=raw, encoding=encoding)


TEMPORARY_SUFFIX = ".kerasfix-tmp"  # write_atomically's temporary files: .<name>.<random>.kerasfix-tmp


def remove_temporaries(path: Path) -> None:
    """Remove temporary files that `write_atomically(path, ...)` left behind in a process killed
    outright (SIGKILL), which had no chance to remove its own."""
    target = Path(os.path.realpath(path))
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*{TEMPORARY_SUFFIX}"):
        try:
            leftover.unlink()
        except OSError:
            pass


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see either the old or the new file, never a mix.

    The new content goes to a temporary file in the same directory, is flushed to disk, gets the
    original file's permission bits, and is renamed over the original.
    """
    target = Path(os.path.realpath(path))
    mode = target.stat().st_mode & 0o7777
    if not mode & 0o222 or not os.access(target, os.W_OK):
        # A rename would succeed over a read-only file; honour the user's protection instead.
        raise PermissionError(13, "file is read-only", str(path))
    temporary = None
    try:
        with signals_deferred():  # an interrupt cannot land between creating the file and knowing its name
            descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        raise


@contextlib.contextmanager
def signals_deferred():
    """Hold SIGINT and SIGTERM back for the duration (where the platform can); they arrive after."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = block(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        block(signal.SIG_SETMASK, previous)
