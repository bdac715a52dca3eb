"""The parent's handle on the worker process: start it once, send jobs, kill it when a file hangs."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from kerasfix.verify import devices

STARTUP_TIMEOUT = 300.0


class WorkerError(Exception):
    """The worker died or stopped answering; the message says what happened."""


class WorkerTimeout(WorkerError):
    def __init__(self, message: str, line: int | None, side: str | None) -> None:
        super().__init__(message)
        self.line = line
        self.side = side


def _at(where: dict) -> str:
    return f" (at line {where['line']} of the {where.get('side')} program)" if where.get("line") else ""


class Worker:
    """One TensorFlow process, reused across files and restarted after a crash or a timeout."""

    def __init__(self, device: str = "auto", memory_gb: float = 8.0) -> None:
        self.device_request = device
        self.memory_gb = memory_gb
        self.process: subprocess.Popen | None = None
        self.reader: int | None = None
        self.buffer = b""
        self.info: dict = {}
        self.starts = 0
        self.log_dir = tempfile.mkdtemp(prefix="kerasfix-verify-log-")
        self.log_path = str(Path(self.log_dir) / "worker.log")

    # -- life cycle

    @property
    def restarts(self) -> int:
        """Workers started after the first (a crash or a timeout ended the one before)."""
        return max(0, self.starts - 1)

    def start(self) -> dict:
        self.starts += 1
        read_end, write_end = os.pipe()
        env = dict(os.environ)
        env.update(devices.worker_environment(self.device_request))
        env.update({"KERASFIX_VERIFY_FD": str(write_end), "KERASFIX_VERIFY_LOG": self.log_path,
                    "KERASFIX_VERIFY_MEMORY_GB": str(self.memory_gb or 0)})
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kerasfix.verify.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
            env=env,
            start_new_session=True,  # its own process group: a timeout kills user code's children too
        )
        os.close(write_end)
        self.reader = read_end
        self.buffer = b""
        message = self._receive(STARTUP_TIMEOUT, lambda m: None)
        if message.get("op") != "ready":
            raise WorkerError(f"the worker sent {message!r} instead of starting")
        self.info = message
        return message

    def ensure(self) -> dict:
        if self.process is None or self.process.poll() is not None:
            self._cleanup()
            return self.start()
        return self.info

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.stdin.write(b'{"op": "stop"}\n')
                self.process.stdin.flush()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.kill()
        self._cleanup()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group we created for this worker only
            except (ProcessLookupError, PermissionError):
                self.process.kill()
            self.process.wait()
        self._cleanup()

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

    def close(self) -> None:
        self.stop()
        import shutil

        shutil.rmtree(self.log_dir, ignore_errors=True)

    # -- jobs

    def run(self, job: dict, timeout: float, on_progress: Callable[[dict], None] | None = None) -> dict:
        self.ensure()
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        where: dict = {}

        def progress(message: dict) -> None:
            where.update(message)
            if on_progress is not None:
                on_progress(message)

        try:
            return self._receive(timeout, progress)
        except WorkerTimeout:
            self.kill()
            line, side = where.get("line"), where.get("side")
            raise WorkerTimeout(f"timed out after {timeout:g} s{_at(where)}; the program was stopped", line, side) from None
        except WorkerError as error:
            raise WorkerError(f"{error}{_at(where)}") from None

    def _receive(self, timeout: float, progress: Callable[[dict], None]) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                message = json.loads(raw)
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
            chunk = os.read(self.reader, 1 << 16)
            if not chunk:
                raise self._crashed()
            self.buffer += chunk

    def _crashed(self) -> WorkerError:
        code = None
        if self.process is not None:
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._cleanup()
        reason = f"exit code {code}" if code is not None and code >= 0 else f"signal {-code}" if code is not None else "unknown"
        tail = self.log_tail()
        return WorkerError(f"the verify worker stopped ({reason}){': ' + tail if tail else ''}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())
