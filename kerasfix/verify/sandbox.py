"""What user code may do inside the verify worker, as Python sees it: no network, no downloads, no exit, no writes
outside its temporary working directory, bounded memory.

These guards replace Python functions, so a program can get past them (`contain_writes(None)`, `subprocess`,
`ctypes`, raw `_socket`); they are the second layer under the operating-system sandbox (`isolation`), there
for their clear messages, and the only one under `--sandbox python`. Installed once when the worker starts.

Dataset loaders answer with small synthetic data of the documented shapes and dtypes, so programs that read a
Keras dataset to size their models still build; `get_file`, files the program reads and its arguments are
`inputs`' job (a read of a missing file looks in the program's directory and `--data`, then fails naming it).
"""

from __future__ import annotations

import builtins
import io
import os
import socket
import sys
import tempfile

import numpy as np

from kerasfix.verify import inputs

SAMPLES = {"train": 256, "test": 64}


class NetworkDisabled(ConnectionRefusedError):
    """User code tried to reach the network."""


class ProgramExit(Exception):
    """User code tried to end the process."""


class WriteOutsideRefused(PermissionError):
    """User code tried to write outside its temporary working directory."""


def _refuse(*args, **kwargs):
    target = ""
    for arg in args:
        if isinstance(arg, tuple) and arg:
            target = f" to {arg[0]}:{arg[1]}" if len(arg) > 1 else f" to {arg[0]}"
            break
        if isinstance(arg, str):
            target = f" to {arg}"
            break
    raise NetworkDisabled(f"network access is disabled under `kerasfix verify` (the program tried to connect{target})")


def block_network() -> None:
    socket.socket.connect = lambda self, address: _refuse(address)  # type: ignore[method-assign]
    socket.socket.connect_ex = lambda self, address: _refuse(address)  # type: ignore[method-assign]
    socket.create_connection = lambda address, *a, **k: _refuse(address)  # type: ignore[assignment]
    socket.getaddrinfo = lambda host, *a, **k: _refuse(host)  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------------
# file writes: only inside the job's temporary working directory

_allowed_root: str | None = None  # None between jobs: the worker's own housekeeping is not restricted
_real = {name: getattr(os, name) for name in ("open", "remove", "unlink", "rmdir", "mkdir", "rename", "replace")}
_real_open = io.open
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def contain_writes(directory: str | None) -> None:
    """Allow writes only under `directory` (and make it the default place for temporary files); None lifts the rule."""
    global _allowed_root
    _allowed_root = os.path.realpath(directory) if directory else None
    tempfile.tempdir = _allowed_root


def _resolved(path, dir_fd: int | None) -> str | None:
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        return None  # an open file descriptor: whoever opened it was checked
    if dir_fd is not None and not os.path.isabs(name):
        try:
            name = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), name)
        except OSError:
            return ""  # cannot tell where it is: treat as outside
    return os.path.realpath(name)


def _check_write(path, action: str, dir_fd: int | None = None) -> None:
    root = _allowed_root
    if root is None or isinstance(path, int):
        return
    full = _resolved(path, dir_fd)
    if full is None or full == os.devnull or full == root or full.startswith(root + os.sep):
        return
    raise WriteOutsideRefused(
        f"writing outside the temporary working directory is disabled under `kerasfix verify` "
        f"(the program tried to {action} {os.fsdecode(os.fspath(path))})"
    )


def _guarded_open(file, mode="r", *args, **kwargs):
    if isinstance(mode, str) and any(flag in mode for flag in "wax+"):
        _check_write(file, "open for writing")
        return _real_open(file, mode, *args, **kwargs)
    found = inputs.locate(file, create=True)
    try:
        return _real_open(found or file, mode, *args, **kwargs)
    except FileNotFoundError:
        if _allowed_root is None or not inputs.JOB.active:
            raise
        raise inputs.missing(file) from None


def _looked_up(function):
    """A path query that also looks where `inputs.locate` reads missing files from."""

    def query(*args, **kwargs):
        if args:
            args = (inputs.locate(args[0]) or args[0], *args[1:])
        return function(*args, **kwargs)

    return query


def _guarded_os_open(path, flags, mode=0o777, *, dir_fd=None):
    if flags & _WRITE_FLAGS:
        _check_write(path, "open for writing", dir_fd)
    return _real["open"](path, flags, mode, dir_fd=dir_fd)


def _one_path(name: str, action: str):
    real = _real[name]

    def guarded(path, *args, dir_fd=None, **kwargs):
        _check_write(path, action, dir_fd)
        return real(path, *args, dir_fd=dir_fd, **kwargs)

    return guarded


def _two_paths(name: str):
    real = _real[name]

    def guarded(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        _check_write(src, "move", src_dir_fd)
        _check_write(dst, "move a file to", dst_dir_fd)
        return real(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    return guarded


def block_writes_outside() -> None:
    """Opening for writing, creating, removing and renaming files, through Python's own functions, are
    refused outside the directory `contain_writes` names. (Native code writing by itself is not seen.)"""
    builtins.open = io.open = _guarded_open  # type: ignore[assignment]
    os.open = _guarded_os_open  # type: ignore[assignment]
    os.remove = _one_path("remove", "remove")  # type: ignore[assignment]
    os.unlink = _one_path("unlink", "remove")  # type: ignore[assignment]
    os.rmdir = _one_path("rmdir", "remove the directory")  # type: ignore[assignment]
    os.mkdir = _one_path("mkdir", "create the directory")  # type: ignore[assignment]
    os.rename = _two_paths("rename")  # type: ignore[assignment]
    os.replace = _two_paths("replace")  # type: ignore[assignment]
    for name in ("exists", "isfile", "isdir"):
        setattr(os.path, name, _looked_up(getattr(os.path, name)))
    os.listdir = _looked_up(os.listdir)  # type: ignore[assignment]


def block_exit() -> None:
    def no_exit(code=0):
        raise ProgramExit(f"the program called os._exit({code})")

    os._exit = no_exit  # type: ignore[assignment]


def limit_memory(gigabytes: float) -> str | None:
    """Cap the worker's address space; returns a note when the limit cannot be applied."""
    try:
        import resource
    except ImportError:
        return "memory limit not applied (no `resource` module on this platform)"
    limit = int(gigabytes * 1024**3)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError) as error:
        return f"memory limit not applied: {error}"
    return None


def quiet_tensorflow() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    import keras

    keras.utils.disable_interactive_logging()


# ---------------------------------------------------------------------------------------------
# synthetic datasets


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _images(shape: tuple, classes: int, label_shape: tuple):
    rng = _rng()

    def split(n):
        x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        y = rng.integers(0, classes, size=(n, *label_shape)).astype(np.uint8 if label_shape == () else np.int64)
        return x, y

    return split(SAMPLES["train"]), split(SAMPLES["test"])


def _sequences(classes: int, num_words=None, maxlen=None, start_char=1, **kwargs):
    rng = _rng()
    vocabulary = num_words or 2000
    longest = maxlen or 120

    def split(n):
        lengths = rng.integers(min(10, longest), longest + 1, size=n)
        x = np.empty(n, dtype=object)
        for index, length in enumerate(lengths):
            body = rng.integers(2, vocabulary, size=int(length) - 1).tolist()
            x[index] = ([start_char] if start_char is not None else []) + body
        y = rng.integers(0, classes, size=n).astype(np.int64)
        return x, y

    return split(SAMPLES["train"]), split(SAMPLES["test"])


def _word_index(*args, **kwargs) -> dict:
    return {f"word{index}": index for index in range(1, 2001)}


def _regression(features: int):
    rng = _rng()

    def split(n):
        return rng.normal(size=(n, features)), rng.normal(loc=20.0, scale=5.0, size=n)

    return split(SAMPLES["train"]), split(SAMPLES["test"])


def _loaders() -> dict:
    return {
        "mnist": lambda *a, **k: _images((28, 28), 10, ()),
        "fashion_mnist": lambda *a, **k: _images((28, 28), 10, ()),
        "cifar10": lambda *a, **k: _images((32, 32, 3), 10, (1,)),
        "cifar100": lambda label_mode="fine", *a, **k: _images((32, 32, 3), 100 if label_mode == "fine" else 20, (1,)),
        "imdb": lambda *a, **k: _sequences(2, **k),
        "reuters": lambda *a, **k: _sequences(46, **k),
        "boston_housing": lambda *a, **k: _regression(13),
        "california_housing": lambda *a, **k: _regression(8),
    }


def patch_datasets() -> None:
    """Replace every loaded Keras dataset loader and `get_file` (public and private module paths)."""
    import keras  # noqa: F401 - loads the public API modules that hold the loaders

    loaders = _loaders()
    inputs.install()
    for name, module in list(sys.modules.items()):
        if module is None:
            continue
        leaf = name.rsplit(".", 1)[-1]
        if ".datasets" in name and leaf in loaders and hasattr(module, "load_data"):
            module.load_data = loaders[leaf]
            if hasattr(module, "get_word_index"):
                module.get_word_index = _word_index
        if name.startswith(("keras", "tensorflow", "tf_keras")) and hasattr(module, "get_file"):
            if name == "keras.src.utils.file_utils":
                inputs.remember_get_file(module)
            try:
                module.get_file = inputs.synthetic_file
            except (AttributeError, TypeError):
                pass


def run_job(handler, job: dict, progress) -> dict:
    """One file's job, whatever runs it: what the program reads (arguments, data, downloads) set up for it, the
    modules loaded since the last job given their stand-ins too, and the notes of what was substituted added."""
    patch_datasets()
    inputs.begin(job.get("original", {}).get("path"), job.get("args"), job.get("data"))
    try:
        result = handler(job, progress)
    finally:
        notes = inputs.end()
    result["notes"] = list(dict.fromkeys([*notes, *result.get("notes", [])]))
    return result


def install(memory_gigabytes: float | None) -> list[str]:
    """Everything at once; returns notes for the report."""
    notes: list[str] = []
    quiet_tensorflow()
    patch_datasets()
    block_network()
    block_exit()
    block_writes_outside()
    if memory_gigabytes:
        note = limit_memory(memory_gigabytes)
        if note:
            notes.append(note)
    return notes
