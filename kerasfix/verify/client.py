"""The parent's handle on the worker process: start it in its sandbox, send jobs, match each reply to its
request, and end the worker with every process it started when a file hangs or crashes, and at exit."""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from kerasfix.verify import confine, isolation

STARTUP_TIMEOUT = 300.0
STOP_TIMEOUT = 10.0
GONE_TIMEOUT = 10.0
CPU_STARTUP_SECONDS = 600  # RLIMIT_CPU allowance for importing TensorFlow and a worker's housekeeping


class WorkerError(Exception):
    """The worker died or stopped answering; the message says what happened."""


class WorkerTimeout(WorkerError):
    def __init__(self, message: str, line: int | None, side: str | None) -> None:
        super().__init__(message)
        self.line = line
        self.side = side


class WorkerOutOfStep(WorkerError):
    """A reply that answers no request in flight: the worker's replies cannot be trusted any more."""


def _at(where: dict) -> str:
    return f" (at line {where['line']} of the {where.get('side')} program)" if where.get("line") else ""


def _remove_tree(path: Path) -> None:
    """Remove a directory the program wrote into, whatever permissions it left on it."""

    def unlock(function, name, error) -> None:
        try:
            parent = os.path.dirname(name)
            os.chmod(parent, stat.S_IRWXU)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, stat.S_IRWXU)
            function(name)
        except OSError:
            pass

    if path.exists():
        shutil.rmtree(path, onerror=unlock)


class Worker:
    """One TensorFlow process in its sandbox, reused across files and restarted after a crash or a timeout."""

    def __init__(self, device: str = "auto", memory_gb: float = 8.0, sandbox: str = "auto", timeout: float = 120.0,
                 tools: tuple[str, ...] = isolation.TOOLS, backend: str = "tensorflow", legacy_keras: bool = False) -> None:
        self.device_request = device
        self.backend = backend  # the Keras backend the worker imports (`verify --backend`)
        self.legacy_keras = legacy_keras  # tf.keras is tf-keras, the real Keras 2 (the oracle's worker)
        self.memory_gb = memory_gb
        self.sandbox_request = sandbox
        self.tools = tools
        self.readable: list[str] = []  # directories the program may read in the OS sandbox (its own, --data)
        self.process: subprocess.Popen | None = None
        self.sandbox: isolation.Sandbox | None = None
        self.env: dict[str, str] = {}
        self.reader: int | None = None
        self.buffer = b""
        self.info: dict = {}
        self.starts = 0
        self.sent = 0
        self.token = ""
        self.log_offset = 0
        self.init_pid: int | None = None  # the sandbox's PID 1, as this process sees it
        self.stray: str | None = None  # what was wrong with the previous file's replies, once found
        # per-process CPU limit: a worker that has used most of it is replaced between files
        self.job_cpu = max(timeout, 1.0) * (os.cpu_count() or 1)
        self.cpu_limit = int(CPU_STARTUP_SECONDS + 3 * self.job_cpu)
        self.layout = isolation.Layout(Path(tempfile.mkdtemp(prefix="kerasfix-verify-")))
        self.program = [sys.executable, "-m", "kerasfix.verify.worker"]  # what runs in the sandbox

    # -- life cycle

    @property
    def restarts(self) -> int:
        """Workers started after the first (a crash or a timeout ended the one before)."""
        return max(0, self.starts - 1)

    @property
    def log_path(self) -> str:
        return str(self.layout.log)

    def choose_sandbox(self) -> isolation.Sandbox:
        """Decide once how the worker is isolated (raises isolation.SandboxUnavailable for `os` without one)."""
        if self.sandbox is None:
            self.sandbox, self.env = isolation.choose(self.sandbox_request, self.layout, self.device_request, self.tools,
                                                      tuple(self.readable))
        return self.sandbox

    def start(self) -> dict:
        sandbox = self.choose_sandbox()
        self.starts += 1
        self.token = secrets.token_hex(8)
        self._reset_work()
        read_end, write_end = os.pipe()
        env = dict(self.env)
        env.update({"KERASFIX_VERIFY_FD": str(write_end), "KERASFIX_VERIFY_MEMORY_GB": str(self.memory_gb or 0),
                    "KERASFIX_VERIFY_WORK": str(self.layout.work), "KERASFIX_VERIFY_SANDBOX": sandbox.kind,
                    "KERASFIX_VERIFY_CPU": str(self.cpu_limit), "KERASFIX_VERIFY_TOKEN": self.token})
        env.update({"KERAS_BACKEND": self.backend, "KERASFIX_VERIFY_BACKEND": self.backend})
        if self.legacy_keras:
            env.update({"TF_USE_LEGACY_KERAS": "1", "KERASFIX_VERIFY_ORACLE": "tf-keras"})
        if sandbox.isolated:
            env["KERASFIX_VERIFY_NPROC"] = str(isolation.nproc_limit())
        if sandbox.run_as is not None:
            env["KERASFIX_VERIFY_RUN_AS"] = "%d:%d" % sandbox.run_as
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.log_offset = os.fstat(log).st_size
            self.process = subprocess.Popen(
                sandbox.command(self.layout, self.program),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(write_end,),
                env=env,
                cwd=str(self.layout.work),
                start_new_session=True,  # its own process group and session: a kill reaches all of it
            )
        finally:
            os.close(write_end)
            os.close(log)
        self.reader = read_end
        self.buffer = b""
        self.sent = 0
        self.init_pid = None
        try:
            message = self._receive(STARTUP_TIMEOUT, "ready", lambda m: None)
        except WorkerTimeout:
            self.kill()
            raise WorkerError(f"the verify worker did not start within {STARTUP_TIMEOUT:g} s") from None
        except WorkerOutOfStep:
            self.kill()
            raise
        if message.get("op") != "ready":
            self.kill()
            raise WorkerError(f"the worker sent {message!r} instead of starting")
        if sandbox.isolated:
            self.init_pid = self._sandbox_init()
        self.info = {**message, "sandbox": sandbox.kind}
        return self.info

    def ensure(self) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return self.start()
        return self.info

    def stop(self) -> None:
        """Ask the worker to finish, then end whatever it left running."""
        leftovers: list[tuple[int, int | None]] = []
        if self.process is not None and self.process.poll() is None:
            if self.init_pid is None:
                leftovers = _watch(self._processes())  # found while the worker still links them to itself
            try:
                self.process.stdin.write(b'{"op": "stop"}\n')
                self.process.stdin.flush()
                self.process.stdin.close()
                self.process.wait(timeout=STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
        self.kill(leftovers)

    def kill(self, also: list[tuple[int, int | None]] | None = None) -> None:
        """SIGKILL the worker and every process it started: its whole PID namespace in a sandbox, else its
        process group, session and descendants (and the processes `also` watches). Returns once they are
        gone, and empties the worker's directory."""
        process = self.process
        doomed = list(also or [])
        if process is not None:
            if process.poll() is None:
                doomed += _watch(self._processes())
            for watcher in doomed:
                _signal(watcher)
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the group we created for this worker only
            except (ProcessLookupError, PermissionError):
                pass
            if process.poll() is None:
                process.kill()
            process.wait()
        _wait_gone(doomed, GONE_TIMEOUT)
        if process is not None:
            self._cleanup()
            self._reset_work()  # what the job was writing goes with it
        self._cleanup()

    def _processes(self) -> list[int]:
        """What to kill to end a running worker: the sandbox's first process (its death ends every process of
        the namespace), else every process the worker started."""
        assert self.process is not None
        if self.init_pid is not None:
            # gone from under the sandbox tool: then the namespace has ended, and the number may be reused
            return [self.init_pid] if _parent(self.init_pid) == self.process.pid else []
        return confine.strays(self.process.pid, whole_namespace=False)

    def _sandbox_init(self) -> int | None:
        """The PID, here, of the sandbox's first process (the sandbox tool's only child)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = [name for name in os.listdir("/proc") if name.isdigit() and _parent(int(name)) == pid]
        return int(children[0]) if len(children) == 1 else None

    def _cleanup(self) -> None:
        if self.reader is not None:
            os.close(self.reader)
            self.reader = None
        if self.process is not None and self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        self.process = None
        self.init_pid = None

    def _reset_work(self) -> None:
        """An empty writable directory for a new worker: what a crashed or stopped job left there goes."""
        if not self.layout.base.exists():
            return
        _remove_tree(self.layout.work)
        isolation.prepare_layout(self.layout, self.sandbox.run_as if self.sandbox else None)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None and self.stray is None:
            self.stray = self._leftover()
        self.stop()
        _remove_tree(self.layout.base)

    # -- jobs

    def run(self, job: dict, timeout: float, on_progress: Callable[[dict], None] | None = None) -> dict:
        """Send one job and return its result. Replies carry the job's id; one that does not, or a second reply
        to the previous job (found here, and kept in `stray` for the caller), means the worker's replies are out
        of step: the worker is replaced."""
        if self.process is not None and self.process.poll() is None:
            self.stray = self._leftover()
            if self.stray is not None:
                self.kill()
        self.ensure()
        assert self.process is not None and self.process.stdin is not None
        self.sent += 1
        request = f"{self.token}-{self.sent}"
        self.log_offset = _size(self.log_path)
        try:
            self.process.stdin.write((json.dumps({**job, "id": request}) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        where: dict = {}

        def progress(message: dict) -> None:
            where.update(message)
            if on_progress is not None:
                on_progress(message)

        try:
            result = self._receive(timeout, request, progress)
        except WorkerTimeout:
            self.kill()
            line, side = where.get("line"), where.get("side")
            raise WorkerTimeout(f"timed out after {timeout:g} s{_at(where)}; the program was stopped", line, side) from None
        except WorkerOutOfStep as error:
            self.kill()
            raise WorkerOutOfStep(f"{error}{_at(where)}; the worker was restarted") from None
        except WorkerError as error:
            raise WorkerError(f"{error}{_at(where)}") from None
        extra = self._leftover(wait=0.0)
        if extra is not None:
            self.kill()
            raise WorkerOutOfStep(f"{extra}; the worker was restarted")
        if float(result.get("cpu") or 0) + self.job_cpu > self.cpu_limit:
            self.stop()  # the next file gets a fresh worker rather than one near its CPU limit
        return result

    def _leftover(self, wait: float = 0.0) -> str | None:
        """What the worker sent after its last reply (nothing should come between jobs), in words."""
        if self.reader is None:
            return None
        data = self.buffer
        while True:
            ready, _, _ = select.select([self.reader], [], [], wait)
            if not ready:
                break
            chunk = os.read(self.reader, 1 << 16)
            if not chunk:
                break  # the worker ended: ensure() starts another for the next file
            data += chunk
            wait = 0.0
        self.buffer = b""
        if not data.strip():
            return None
        return ("the worker sent a second reply to one request (did the program fork, or write to verify's reply "
                "channel?), so its replies cannot be trusted")

    def _receive(self, timeout: float, request: str, progress: Callable[[dict], None]) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                try:
                    message = json.loads(raw)
                except ValueError:
                    raise WorkerOutOfStep(f"the worker sent an unreadable reply ({raw[:80]!r})") from None
                if not isinstance(message, dict):
                    raise WorkerOutOfStep(f"the worker sent an unreadable reply ({raw[:80]!r})")
                answer = message.get("id")
                expected = self.token if request == "ready" else request
                if answer != expected:
                    raise WorkerOutOfStep(f"the worker answered request {answer!r} while verify waited for {expected!r} "
                                          "(did the program fork?)")
                if message.get("op") == "at":
                    progress(message)
                    continue
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout("timeout", None, None)
            ready, _, _ = select.select([self.reader], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(self.reader, 1 << 20)
            if not chunk:
                raise self._crashed()
            if b"\n" not in chunk:
                # a long reply (a large model's weights) arrives in many chunks: they are kept apart and joined
                # once its line is complete, so receiving it takes time linear in its size
                pieces = [self.buffer, chunk]
                while True:
                    ready, _, _ = select.select([self.reader], [], [], max(0.0, min(deadline - time.monotonic(), 1.0)))
                    if not ready:
                        if time.monotonic() >= deadline:
                            self.buffer = b"".join(pieces)
                            raise WorkerTimeout("timeout", None, None)
                        continue
                    chunk = os.read(self.reader, 1 << 20)
                    if not chunk:
                        self.buffer = b"".join(pieces)
                        raise self._crashed()
                    pieces.append(chunk)
                    if b"\n" in chunk:
                        break
                chunk = b"".join(pieces)
                self.buffer = b""
            self.buffer += chunk

    def _crashed(self) -> WorkerError:
        code = None
        if self.process is not None:
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if code is not None and code > 128 and self.sandbox is not None and self.sandbox.isolated:
            code = 128 - code  # the sandbox's first process reports a worker killed by signal N as 128 + N
        self.kill()
        reason = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code is not None else "unknown"
        tail = self.log_tail()
        return WorkerError(f"the verify worker stopped ({reason}){': ' + tail if tail else ''}")

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the worker (and the program) printed since the current job began."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self.log_offset)
                text = handle.read().decode(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


# ---------------------------------------------------------------------------------------------
# processes that are not our children


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _parent(pid: int) -> int | None:
    found = confine.process_stat(pid)
    return None if found is None else found[1]


def _watch(pids: list[int]) -> list[tuple[int, int | None]]:
    """A pidfd for each process (where the system has them): it names that process and no later one with the
    same number, and shows when it has ended."""
    watchers = []
    for pid in pids:
        try:
            watchers.append((pid, os.pidfd_open(pid)))
        except ProcessLookupError:
            continue  # already gone
        except (AttributeError, OSError):
            watchers.append((pid, None))
    return watchers


def _signal(watcher: tuple[int, int | None]) -> None:
    pid, descriptor = watcher
    try:
        if descriptor is not None:
            signal.pidfd_send_signal(descriptor, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _alive(pid: int) -> bool:
    found = confine.process_stat(pid)
    return found is not None and found[0] not in ("Z", "X")


def _wait_gone(watchers: list[tuple[int, int | None]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for pid, descriptor in watchers:
        try:
            if descriptor is not None:
                select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
            else:
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            if descriptor is not None:
                os.close(descriptor)
