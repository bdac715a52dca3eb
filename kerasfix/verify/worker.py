"""The verify worker process: imports TensorFlow once, then runs one file's job per request.

Requests arrive as JSON lines on stdin; replies go out as JSON lines on the file descriptor named by
KERASFIX_VERIFY_FD, each carrying its request's id, so nothing user code prints (fd 1) or TensorFlow logs (fd 2)
can corrupt them: both go to the log file the parent opened. Only this process may reply: a copy the program
forked that reaches the reply code ends there. Run as `python -m kerasfix.verify.worker`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def _requests() -> object:
    """Keep the request stream, and point fd 0 away from the parent."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return requests


def _end_with_parent(requests, real_exit) -> None:
    """End this process when the parent goes away (its end of the request pipe closes), even mid-job."""
    import select

    watch = select.poll()
    watch.register(requests.fileno(), 0)  # no events asked for: poll() returns on hang-up only

    def wait() -> None:
        watch.poll()
        real_exit(0)

    threading.Thread(target=wait, name="kerasfix-parent-watch", daemon=True).start()


def _settings() -> dict[str, str]:
    """The parent's instructions (KERASFIX_VERIFY_* variables), taken out of the environment the program sees."""
    return {name[len("KERASFIX_VERIFY_"):]: os.environ.pop(name) for name in list(os.environ) if name.startswith("KERASFIX_VERIFY_")}


def _run_as(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    uid, gid = value.split(":")
    return int(uid), int(gid)


def _versions(backend: str) -> dict[str, str]:
    """The version of a backend other than TensorFlow (`verify --backend jax,torch`)."""
    import importlib

    return {backend: importlib.import_module(backend).__version__}


def _handler(op: str | None):
    """What runs a job: `verify` compares the original and migrated programs here; `build` builds the migrated
    one alone (another backend's build, or the reference for it); `oracle` runs the original against tf-keras."""
    if op == "build":
        from kerasfix.verify import crossbuild

        return crossbuild.build_file
    if op == "oracle":
        from kerasfix.verify import oracle

        return oracle.oracle_file
    from kerasfix.verify import runtime

    return runtime.verify_file


def main() -> int:
    from kerasfix.verify import confine

    me = os.getpid()
    real_exit = os._exit  # the program cannot take this one away: its guard replaces os._exit
    settings = _settings()
    notes = confine.enter(int(settings.get("NPROC", "0")) or None, int(settings.get("CPU", "0")) or None,
                          _run_as(settings.get("RUN_AS")))
    replies = os.fdopen(int(settings["FD"]), "w", encoding="utf-8", buffering=1)
    requests = _requests()
    _end_with_parent(requests, real_exit)
    token = settings.get("TOKEN", "")
    work = settings.get("WORK") or os.getcwd()
    whole_namespace = settings.get("SANDBOX") in ("bwrap", "unshare")

    def send(message: dict) -> None:
        if os.getpid() != me:
            real_exit(0)  # a forked copy of the worker: only the worker answers requests
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    backend = settings.get("BACKEND", "tensorflow")
    os.environ["KERAS_BACKEND"] = backend  # before Keras is imported: it chooses its backend once
    from kerasfix.verify import devices, sandbox

    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
        versions = {"tensorflow": tf.__version__}
        try:
            device = devices.choose(settings.get("DEVICE", "auto"), gpus)
        except devices.DeviceError as error:
            send({"op": "ready", "id": token, "error": str(error), "gpus": gpus})
            return 2
    else:
        gpus, device, versions = [], "cpu", _versions(backend)
    memory = float(settings.get("MEMORY_GB", "0") or 0)
    if device.startswith("/GPU"):
        if memory:
            notes.append("memory limit not applied on a GPU (CUDA reserves more address space than any useful limit)")
        memory = 0
    notes.extend(sandbox.install(memory))
    from kerasfix.verify import runtime  # noqa: F401 - imports keras and the compatibility layer before any job

    import keras

    if settings.get("ORACLE") == "tf-keras":
        import tf_keras

        versions["tf_keras"] = tf_keras.__version__
    send({"op": "ready", "id": token, "device": device, "gpus": gpus, "backend": backend, **versions,
          "keras": keras.__version__, "notes": notes, "startup": round(time.perf_counter() - started, 3)})
    import shutil
    import tempfile

    for line in requests:
        job = json.loads(line)
        if job.get("op") == "stop":
            break
        request = job.get("id")
        job["device"] = device
        workdir = tempfile.mkdtemp(prefix="job-", dir=work)
        try:
            os.chdir(workdir)
            os.environ["HOME"] = os.environ["TMPDIR"] = workdir
            sandbox.contain_writes(workdir)

            def progress(side: str, line_number: int, request=request) -> None:
                send({"op": "at", "id": request, "side": side, "line": line_number})

            try:
                result = sandbox.run_job(_handler(job.get("op")), job, progress)
            except BaseException as error:  # noqa: BLE001 - report, then keep serving
                result = {"models": [], "errors": [{"type": type(error).__name__, "message": f"verify failed on this file: {error}", "line": None, "source": None, "side": "worker"}]}
        finally:
            if os.getpid() != me:
                real_exit(0)
            sandbox.contain_writes(None)
            os.chdir(work)
            confine.end_strays(me, whole_namespace)  # what the program started (a forked copy, a sleeper) ends with it
            shutil.rmtree(workdir, ignore_errors=True)
        send({"op": "result", "id": request, "cpu": round(confine.cpu_time(), 3), **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
