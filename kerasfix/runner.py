"""Running `check` and `migrate` over many files: one file's failure never stops the others."""

from __future__ import annotations

import os
import signal
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from kerasfix.config import Config
from kerasfix.files import ignored_codes
from kerasfix.findings import FileError, Finding
from kerasfix.settings import Settings
from kerasfix.source import (
    Source, SourceError, read_file, read_source, remove_temporaries, signals_deferred, write_atomically,
)


@dataclass
class FileResult:
    path: Path
    findings: list[Finding] = field(default_factory=list)
    error: FileError | None = None
    source: Source | None = None
    # migrate only
    new_text: str | None = None
    fixed: list[Finding] = field(default_factory=list)
    written: bool = False


def settings_for(path: Path, settings: Settings, config: Config) -> Settings:
    ignored = ignored_codes(path, config) if config.per_file_ignores else set()
    if not ignored:
        return settings
    return Settings(settings.enabled - ignored, settings.target, settings.unsafe_fixes)


def _read(path: Path, name: str, raw: bytes | None = None) -> tuple[Source | None, FileError | None]:
    try:
        source = read_source(path, raw)
    except SourceError as error:
        return None, FileError(name, str(error), "io", error.row, None, error.cell)
    source.path = Path(name)
    return source, None


def check_file(path: Path, name: str, settings: Settings, config: Config, raw: bytes | None = None) -> FileResult:
    result = FileResult(path)
    try:
        source, error = _read(path, name, raw)
        if error is not None:
            result.error = error
            return result
        result.source = source
        from kerasfix.engine import check_source  # LibCST is loaded only once a file is read

        result.findings, result.error = check_source(source, settings_for(path, settings, config))
    except Exception as error:  # noqa: BLE001 - one file's internal error must not stop the run
        result.error = _internal(name, error)
    return result


def migrate_file(path: Path, name: str, settings: Settings, config: Config, write: bool, raw: bytes | None = None) -> FileResult:
    """Migrate one file (or, given `raw`, a program read elsewhere, such as stdin, under that name)."""
    from kerasfix.engine import ParseFailure, _parse_error, fix_text

    result = FileResult(path)
    try:
        source, error = _read(path, name, raw)
        if error is not None:
            result.error = error
            return result
        result.source = source
        file_settings = settings_for(path, settings, config)
        try:
            fixed = fix_text(source, file_settings)
        except ParseFailure as failure:
            result.error = _parse_error(source, failure)
            return result
        result.findings = fixed.remaining
        result.fixed = fixed.applied
        if fixed.dropped:
            # the other fixes stand; the ones dropped are named (their findings stay reported)
            result.error = FileError(name, " ".join(fixed.dropped), "internal")
        if fixed.text == source.text:
            return result
        if not _compiles(fixed.parts_after or [fixed.text]) and _compiles(fixed.parts_before or [source.text]):
            result.error = FileError(name, "internal error: the fixed code would not compile; the file was left unchanged", "internal")
            return result
        result.new_text = fixed.text
        if write:
            if path.is_symlink():
                result.error = FileError(name, "not written: the path is a symbolic link (pass the file it points to)", "io")
                return result
            try:
                write_atomically(path, source.render(fixed.text))
                result.written = True
            except OSError as error:
                result.error = FileError(name, f"cannot write the fixed file: {error.strerror or error}; it was left unchanged", "io")
    except Exception as error:  # noqa: BLE001
        result.error = _internal(name, error)
    return result


def _compiles(texts: list[str]) -> bool:
    """Python compiles the text; a large file is given in the parts it was fixed in, which were cut
    between top-level statements, so each compiles on its own exactly when the whole does. (Compiled
    to bytecode, which builds no syntax tree of Python objects: several times faster than `ast.parse`;
    it also refuses what only the compiler does, such as `return` outside a function, which is why
    it is asked of the text before the fixes as well.)"""
    with warnings.catch_warnings():  # what the compiler warns of is the program's, not ours to print
        warnings.simplefilter("ignore")
        for text in texts:
            try:
                compile(text, "<kerasfix>", "exec", dont_inherit=True)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return False
    return True


def _internal(name: str, error: BaseException) -> FileError:
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f" (at {Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return FileError(
        name,
        f"kerasfix failed on this file: {type(error).__name__}: {error}{where}. Please report it with the file.",
        "internal",
    )


PARALLEL_THRESHOLD = 16  # fewer files than this are checked in-process: a pool costs more than it saves


def _check_job(job: tuple) -> FileResult:
    path, name, settings, config, raw = job
    result = check_file(path, name, settings, config, raw)
    result.source = None  # the parent re-reads what it needs; sources are not worth pickling
    return result


def check_paths(files: list[Path], settings: Settings, config: Config, jobs: int, use_cache: bool) -> list[FileResult]:
    """Check files in parallel (deterministic order), reusing cached results for unchanged files."""
    from kerasfix.cache import Cache
    from kerasfix.reporters import relative_name

    from kerasfix.prefilter import ENABLED as prefilter_enabled

    cache = Cache(config.root, repr((sorted(settings.enabled), settings.target, config.hash_key()))) if use_cache else None
    results: dict[int, FileResult] = {}
    todo: list[tuple[int, tuple, str | None]] = []
    for index, path in enumerate(files):
        name = relative_name(path)
        try:
            raw = read_file(path)
        except SourceError:
            raw = None  # check_file reports it
        if raw is not None and prefilter_enabled and _plainly_without_keras(path, raw):
            results[index] = FileResult(path)
            continue
        key = None
        if cache is not None and raw is not None:
            key = cache.key(name, raw)
            hit = cache.get(key)
            if hit is not None:
                results[index] = FileResult(path, hit[0], hit[1])
                continue
        todo.append((index, (path, name, settings, config, raw), key))
    if jobs > 1 and len(todo) >= PARALLEL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        # largest files first, one at a time: a worker is never left with a long file at the end
        order = sorted(range(len(todo)), key=lambda i: -len(todo[i][1][4] or b""))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(_check_job, [todo[i][1] for i in order], chunksize=1))
        computed: list[FileResult] = [None] * len(todo)  # type: ignore[list-item]
        for position, result in zip(order, done):
            computed[position] = result
    else:
        computed = [check_file(*job) for _, job, _ in todo]
    for (index, _, key), result in zip(todo, computed):
        results[index] = result
        if cache is not None and key is not None:
            cache.put(key, result.findings, result.error)
    return [results[index] for index in range(len(files))]


def _plainly_without_keras(path: Path, raw: bytes) -> bool:
    """A readable `.py` file without the bytes `keras` cannot name Keras (every import root and
    `tf.keras` spell it), so no rule can find anything: it is not even handed to a worker. Anything
    else (notebooks, undecodable bytes, NUL bytes) takes the full path, which reports what is wrong
    with it, as `migrate` does."""
    if path.suffix != ".py" or b"keras" in raw or b"\x00" in raw:
        return False
    from kerasfix.prefilter import provider_words

    if any(word.encode() in raw for word in provider_words()):
        return False  # Keras's modules handed over by a function (`get_submodules_from_kwargs`)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Stopped(BaseException):
    """SIGTERM in a worker during a file: unwinds it, so that a write in progress removes its temporary file."""


class _Worker:
    """A worker process's one piece of state: whether a file is in hand, which its SIGTERM handler reads."""

    busy = False


def _start_worker() -> None:
    """Pool initializer. Ctrl-C reaches the whole process group, but only the main process decides what
    it means: a worker ignores SIGINT, and leaves on SIGTERM (the main process's second interrupt),
    unwinding the file in hand first. The signals were held since the fork; they are let through now."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_terminated)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _worker_terminated(signum, frame) -> None:
    if _Worker.busy:
        raise _Stopped()
    os._exit(128 + signum)  # between files: nothing to unwind, and no result is awaited any more


def _migrate_job(job: tuple) -> FileResult:
    _Worker.busy = True
    try:
        return migrate_file(*job)
    except _Stopped:
        os._exit(128 + signal.SIGTERM)  # the file is as it was or fully written; its temporary is gone
    finally:
        _Worker.busy = False


STOP_GRACE = 2.0  # seconds a worker has to unwind on SIGTERM before it is killed


def migrate_paths(files: list[Path], settings: Settings, config: Config, write: bool, jobs: int):
    """Migrate files, in worker processes when there are enough of them, yielding the results in the
    files' order as they come. Each file is written atomically by whichever process migrated it.

    Stopped part-way (Ctrl-C, SIGTERM), the files not started are cancelled and the ones in progress
    are finished, so every file is left as it was or fully migrated. A second interrupt while they
    finish stops the workers at once (each removes the temporary file of a write it had begun) and is
    raised in its turn. The caller closes the generator when it stops early, so this happens then.
    """
    from kerasfix.reporters import relative_name

    work = [(path, relative_name(path), settings, config, write) for path in files]
    if jobs <= 1 or len(work) < PARALLEL_THRESHOLD:
        for job in work:
            yield migrate_file(*job)
        return
    from concurrent.futures import ProcessPoolExecutor

    import threading

    pool, futures, threads = None, [], []
    try:
        # the workers are forked with SIGINT and SIGTERM held, until _start_worker has set their handlers
        with signals_deferred():
            before = set(threading.enumerate())
            pool = ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker)
            futures = [pool.submit(_migrate_job, job) for job in work]
            # the pool's manager (and queue feeder) threads: a shutdown that does not wait lets go of
            # them, and one still running at exit races the interpreter's wake-up of it (a "Bad file
            # descriptor" traceback after the user's "interrupted")
            threads = [thread for thread in threading.enumerate() if thread not in before]
        for future in futures:
            yield future.result()
        pool.shutdown(wait=True)
    except BaseException:
        if pool is not None:
            _stop(pool, futures, files, threads)
        raise


def _stop(pool, futures: list, paths: list[Path], threads: list) -> None:
    """After an interrupt: cancel the files not started and wait for the ones in progress; on a second
    interrupt (or SIGTERM) meanwhile, end the workers now and let that one propagate. Either way the
    pool's threads are gone before this returns."""
    import concurrent.futures

    try:
        # The pool cancels (its own manager thread does: cancelling a future from here races that
        # thread, which then fails to mark it broken).
        pool.shutdown(wait=False, cancel_futures=True)
        # Polled: the pool cancels futures without notifying their waiters, so a wait for them all
        # would never end.
        while not all(future.done() for future in futures):
            concurrent.futures.wait([future for future in futures if not future.done()], timeout=0.05)
        for thread in threads:
            thread.join()
    except BaseException:
        with signals_deferred():  # a third Ctrl-C waits until the workers are gone
            _end_workers([path for path, future in zip(paths, futures) if not future.done()])
            for thread in threads:
                thread.join(STOP_GRACE)  # the manager sees the workers gone and ends
        raise


def _end_workers(unfinished: list[Path]) -> None:
    """SIGTERM to every worker, SIGKILL to any still there after STOP_GRACE; the temporary files a
    killed worker may have left are removed."""
    import multiprocessing
    import time

    workers = multiprocessing.active_children()
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    killed = [worker for worker in workers if worker.is_alive()]
    for worker in killed:
        worker.kill()
        worker.join()
    if killed:
        for path in unfinished:
            remove_temporaries(path)
