"""The verify worker process: imports TensorFlow once, then runs one file's job per request.

Requests arrive as JSON lines on stdin; replies go out as JSON lines on the file descriptor named by
KERASFIX_VERIFY_FD, so nothing user code prints (fd 1) or TensorFlow logs (fd 2) can corrupt them: both
are redirected to a log file. Run as `python -m kerasfix.verify.worker`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time


def _redirect_stdio(log_path: str) -> object:
    """Keep the request stream, and point fds 0-2 away from the parent."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return requests


def main() -> int:
    replies = os.fdopen(int(os.environ["KERASFIX_VERIFY_FD"]), "w", encoding="utf-8", buffering=1)
    requests = _redirect_stdio(os.environ.get("KERASFIX_VERIFY_LOG", os.devnull))

    def send(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from kerasfix.verify import devices, sandbox

    gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    try:
        device = devices.choose(os.environ.get("KERASFIX_VERIFY_DEVICE", "auto"), gpus)
    except devices.DeviceError as error:
        send({"op": "ready", "error": str(error), "gpus": gpus})
        return 2
    notes = []
    memory = float(os.environ.get("KERASFIX_VERIFY_MEMORY_GB", "0") or 0)
    if device.startswith("/GPU"):
        if memory:
            notes.append("memory limit not applied on a GPU (CUDA reserves more address space than any useful limit)")
        memory = 0
    notes.extend(sandbox.install(memory))
    from kerasfix.verify import runtime  # imports keras and the compatibility layer

    import keras

    send({"op": "ready", "device": device, "gpus": gpus, "tensorflow": tf.__version__, "keras": keras.__version__,
          "notes": notes, "startup": round(time.perf_counter() - started, 3)})
    home = os.getcwd()
    for line in requests:
        job = json.loads(line)
        if job.get("op") == "stop":
            break
        job["device"] = device
        workdir = tempfile.mkdtemp(prefix="kerasfix-verify-")
        try:
            os.chdir(workdir)
            sandbox.contain_writes(workdir)

            def progress(side: str, line_number: int) -> None:
                send({"op": "at", "side": side, "line": line_number})

            try:
                result = runtime.verify_file(job, progress)
            except BaseException as error:  # noqa: BLE001 - report, then keep serving
                result = {"models": [], "errors": [{"type": type(error).__name__, "message": f"verify failed on this file: {error}", "line": None, "source": None, "side": "worker"}]}
        finally:
            sandbox.contain_writes(None)
            os.chdir(home)
            shutil.rmtree(workdir, ignore_errors=True)
        send({"op": "result", **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
