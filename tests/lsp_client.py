"""A language-server client for tests and benchmarks: starts `python -m kerasfix server` and speaks
JSON-RPC to it over its stdin and stdout, the way an editor does."""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent


class ServerError(Exception):
    """The server answered a request with an error, or went away."""


class LspClient:
    """Requests wait for their answer; notifications from the server are kept in order for
    `wait_for`; requests from the server (`workspace/applyEdit`, ...) are recorded and answered by
    `answers` (a function of the request giving its result; by default null)."""

    def __init__(
        self, cwd: Path, stderr_path: Path, answers: Callable[[dict], Any] | None = None, python_options: tuple[str, ...] = ()
    ) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONSAFEPATH="1")
        self._stderr = open(stderr_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, *python_options, "-m", "kerasfix", "server"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        self.stderr_path = stderr_path
        self.answers = answers or (lambda request: None)
        self.ids = itertools.count(1)
        self.messages: queue.Queue[dict | None] = queue.Queue()
        self.notifications: list[dict] = []
        self.server_requests: list[dict] = []
        self.responses: dict[int, dict] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # the wire

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        with self._lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.messages.put(json.loads(stream.read(length)))

    def _pump(self, deadline: float) -> bool:
        """Take one message from the server; False when the deadline passed first."""
        try:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if message is None:
            raise ServerError(f"the server closed its output; stderr:\n{self.stderr()}")
        if "method" in message and "id" in message:
            self.server_requests.append(message)
            self._send({"id": message["id"], "result": self.answers(message)})
        elif "method" in message:
            self.notifications.append(message)
        else:
            self.responses[message["id"]] = message
        return True

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-4000:]

    # what tests call

    def request(self, method: str, params: Any = None, timeout: float = 60) -> Any:
        ident = next(self.ids)
        self._send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while ident not in self.responses:
            if not self._pump(deadline):
                raise ServerError(f"no answer to {method} in {timeout} s; stderr:\n{self.stderr()}")
        response = self.responses.pop(ident)
        if "error" in response:
            raise ServerError(f"{method}: {response['error']}")
        return response.get("result")

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"method": method, "params": params})

    def wait_for(self, method: str, check: Callable[[dict], bool] = lambda params: True, timeout: float = 60) -> dict:
        """The params of the first notification `method` for which `check` holds, which is taken out
        of `notifications` (the others stay there)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.notifications):
                if message["method"] == method and check(message["params"]):
                    del self.notifications[index]
                    return message["params"]
            if not self._pump(deadline):
                seen = [m["method"] for m in self.notifications]
                raise ServerError(f"no {method} in {timeout} s (saw {seen}); stderr:\n{self.stderr()}")

    def initialize(self, root: Path, options: dict | None = None, capabilities: dict | None = None) -> dict:
        result = self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "capabilities": capabilities if capabilities is not None else CAPABILITIES,
            "initializationOptions": options or {},
        })
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str, version: int = 1) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}})
        return uri

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = 60) -> list[dict]:
        def mine(params: dict) -> bool:
            return params["uri"] == uri and (version is None or params.get("version") == version)

        return self.wait_for("textDocument/publishDiagnostics", mine, timeout)["diagnostics"]

    def close(self) -> int:
        """shutdown, then exit: the server's exit status."""
        try:
            if self.process.poll() is None:
                self.request("shutdown", timeout=30)
                self.notify("exit")
                return self.process.wait(timeout=30)
            return self.process.returncode
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._stderr.close()


# What an editor announces: UTF-16 positions, versioned edits, code actions resolved lazily, notebooks.
CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}},
    "textDocument": {
        "synchronization": {"didSave": True},
        "publishDiagnostics": {"versionSupport": True},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source", "source.fixAll"]}},
            "resolveSupport": {"properties": ["edit"]},
        },
    },
    "notebookDocument": {"synchronization": {}},
}


def apply_text_edits(text: str, edits: list[dict]) -> str:
    """`text` with LSP TextEdits applied (UTF-16 positions), as an editor applies them."""

    def offset(position: dict) -> int:
        lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
        before = sum(len(line) for line in lines[: position["line"]])
        line = lines[position["line"]] if position["line"] < len(lines) else ""
        units, index = 0, 0
        while units < position["character"] and index < len(line):
            units += len(line[index].encode("utf-16-le")) // 2
            index += 1
        return before + index

    for edit in sorted(edits, key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text
