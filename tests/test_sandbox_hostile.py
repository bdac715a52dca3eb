"""Hostile programs under `verify --sandbox os`: nothing outside the job directory changes, no packet leaves,
no secret is seen, no process outlives the run, and every model before and after the hostile line is reported.

Each hostile action is one model of a program whose layer width comes from that action: its record says what
happened (`refused: ...`), and the test checks the effect did not happen. Programs that end the worker (an exit
past the guard, SIGKILL) come last in their run, so the run starts TensorFlow twice, not three times. Without
TensorFlow, the same kinds of escape are tried through each sandbox tool (bubblewrap and unshare) directly.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kerasfix.verify import isolation

# slow: builds models or runs many CLI processes; CI runs it, `-m "not slow"` leaves it out
pytestmark = pytest.mark.slow

SECRET_NAME = "KERASFIX_HOSTILE_SECRET"
SECRET_VALUE = "hunter2-do-not-leak-7c1e"
HOME_SECRET = "ssh-private-key-b91f"
TIMEOUT = 90  # per file; the hostile programs need a few seconds each


def _os_sandbox_available() -> str | None:
    layout = isolation.Layout(Path(tempfile.mkdtemp(prefix="kerasfix-verify-")))
    try:
        isolation.choose("os", layout, "cpu")
    except isolation.SandboxUnavailable as error:
        return str(error)
    finally:
        shutil.rmtree(layout.base, ignore_errors=True)
    return None


requires_os_sandbox = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OS sandboxes need Linux")


# ---------------------------------------------------------------------------------------------
# what the test watches


class Listener:
    """A TCP and a UDP socket on this machine's 127.0.0.1 that record whatever reaches them."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.received: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def ports(self) -> tuple[int, int]:
        return self.tcp.getsockname()[1], self.udp.getsockname()[1]

    def _serve(self) -> None:
        while self.running:
            for sock in (self.tcp, self.udp):
                try:
                    if sock is self.tcp:
                        connection, peer = sock.accept()
                        self.received.append(f"tcp connection from {peer}")
                        connection.close()
                    else:
                        data, peer = sock.recvfrom(1024)
                        self.received.append(f"udp {data!r} from {peer}")
                except (TimeoutError, OSError):
                    pass

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.tcp.close()
        self.udp.close()


def snapshot(directory: Path) -> dict[str, tuple]:
    """Every entry below `directory` (and itself): type, mode, size, modification time, content or link."""
    found = {}
    for path in [directory, *sorted(directory.rglob("*"))]:
        info = path.lstat()
        if path.is_symlink():
            content = os.readlink(path)
        elif path.is_file():
            content = path.read_bytes()
        else:
            content = None
        found[str(path.relative_to(directory))] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return found


def processes_mentioning(*markers: str) -> list[str]:
    """Processes whose command line or environment holds any of `markers`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                data = Path(f"/proc/{name}/{part}").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if any(marker in data for marker in markers):
                found.append(f"{name}: {data.replace(chr(0), ' ')[:200]}")
                break
    return found


@pytest.fixture
def outside():
    """A directory outside every sandbox's writable places (/var/tmp when there is one: the sandbox's /tmp is
    private, so a directory there would not even be seen), with a fake home holding a secret."""
    parent = "/var/tmp" if os.path.isdir("/var/tmp") and os.access("/var/tmp", os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix="kerasfix-hostile-", dir=parent))
    (directory / "victim.txt").write_text("victim\n")
    (directory / "keep").mkdir()
    (directory / "keep" / "inner.txt").write_text("kept\n")
    home = directory / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(HOME_SECRET + "\n")
    directory.chmod(0o777)  # writable for the sandbox's user, were the file system not read-only
    (directory / "keep").chmod(0o777)
    (directory / "victim.txt").chmod(0o666)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# the hostile programs

ESCAPES = '''\
# Hostile: every way out of the job directory the issue lists, one model each. The Python-level guard is
# switched off first, so what stops each action is the operating-system sandbox alone.
import ctypes
import io
import os
import pathlib
import shutil
import subprocess
import _socket

import numpy as np
import tensorflow as tf
from keras.layers import Dense
from keras.models import Sequential

from kerasfix.verify import sandbox

OUTSIDE = {outside!r}
PRIVATE = {private!r}
HOME_SECRET_FILE = {home_secret!r}
TCP_PORT, UDP_PORT = {tcp_port}, {udp_port}
SLEEPER = {sleeper!r}


def write_relative():
    here = os.getcwd()
    os.chdir("/")
    try:
        with open(os.path.relpath(os.path.join(OUTSIDE, "by_relative"), "/"), "w") as handle:
            handle.write("escaped")
    finally:
        os.chdir(here)


def ctypes_fopen():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fopen.restype = ctypes.c_void_p
    stream = libc.fopen(os.path.join(OUTSIDE, "by_ctypes").encode(), b"w")
    if not stream:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    libc.fclose(ctypes.c_void_p(stream))


def os_open_write():
    descriptor = os.open(os.path.join(OUTSIDE, "by_os_open"), os.O_WRONLY | os.O_CREAT, 0o666)
    getattr(os, "write")(descriptor, b"escaped")


def system():
    status = os.system("touch " + os.path.join(OUTSIDE, "by_system") + " " + os.path.join(PRIVATE, "by_system"))
    if status:
        raise OSError(f"the shell exited with status {{status}}")


def tcp(host):
    address = _socket.getaddrinfo(host, TCP_PORT, _socket.AF_INET, _socket.SOCK_STREAM)[0][4]
    connection = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    connection.settimeout(5)
    connection.connect(address)


def udp():
    packet = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    packet.sendto(b"escaped", ("127.0.0.1", UDP_PORT))


def secrets():
    seen = [name for name in os.environ if "SECRET" in name]
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{{pid}}/environ", "rb") as handle:
                if b"{secret_name}" in handle.read():
                    seen.append(pid)
        except OSError:
            pass
    if seen:
        return "visible: " + repr([(name, os.environ.get(name)) for name in seen])
    raise LookupError("no secret in this environment or any process's")


def home():
    listing = os.listdir(os.path.expanduser("~"))
    with open(HOME_SECRET_FILE) as handle:
        return f"read {{handle.read()!r}}; ~ holds {{listing}}"


def sleeper():
    child = os.fork()
    if child == 0:
        os.setsid()
        os.execv("/bin/sleep", ["sleep", SLEEPER])
    return f"started {{child}}"


ACTIONS = {{
    "subprocess": lambda: subprocess.run(["touch", os.path.join(OUTSIDE, "by_subprocess")], check=True),
    "system": system,
    "os_open": os_open_write,
    "io": lambda: io.FileIO(os.path.join(OUTSIDE, "by_fileio"), "w"),
    "pathlib": lambda: pathlib.Path(OUTSIDE, "by_pathlib").write_text("escaped"),
    "private_tmp": lambda: pathlib.Path(PRIVATE, "by_pathlib").write_text("escaped"),
    "rmtree": lambda: shutil.rmtree(os.path.join(OUTSIDE, "keep")),
    "numpy": lambda: getattr(np, "save")(os.path.join(OUTSIDE, "by_numpy.npy"), np.zeros(3)),
    "ctypes": ctypes_fopen,
    "tf_io": lambda: tf.io.write_file(os.path.join(OUTSIDE, "by_tf"), "escaped"),
    "truncate": lambda: os.truncate(os.path.join(OUTSIDE, "victim.txt"), 0),
    "chmod": lambda: os.chmod(os.path.join(OUTSIDE, "victim.txt"), 0o600),
    "symlink": lambda: os.symlink("/etc/passwd", os.path.join(OUTSIDE, "by_symlink")),
    "relative": write_relative,
    "tcp_local": lambda: tcp("127.0.0.1"),
    "tcp_name": lambda: tcp("localhost"),
    "udp_local": udp,
    "environment": secrets,
    "home": home,
    "allocate": lambda: np.ones(50 * 2**30, dtype=np.uint8),
    "exit": lambda: os._exit(3),
    "sleeper": sleeper,
}}


def hostile(name):
    sandbox.contain_writes(None)
    try:
        outcome = f"done: {{ACTIONS[name]()}}"
    except BaseException as error:
        outcome = f"refused: {{type(error).__name__}}: {{error}}"
    raise RuntimeError(f"{{name}}: {{outcome}}")


before = Sequential()
before.add(Dense(4, input_dim=3))
{models}
after = Sequential()
after.add(Dense(2, input_dim=4))
'''

ACTIONS = ["subprocess", "system", "os_open", "io", "pathlib", "private_tmp", "rmtree", "numpy", "ctypes", "tf_io",
           "truncate", "chmod", "symlink", "relative", "tcp_local", "tcp_name", "udp_local", "environment", "home",
           "allocate", "exit", "sleeper"]
# Where the sandbox's answer is not an exception: the packet goes to the sandbox's own loopback, and the
# sleeper is started (and ended with the file's job).
DONE = {"udp_local", "sleeper"}

FORK_BOMB = '''\
# Hostile: a fork bomb. The process limit stops it; the bomb's first process reports how far it got and ends
# its process group, so the rest of the file runs (the sandbox would end it with the file's job anyway).
import os
import signal

from keras.layers import Dense
from keras.models import Sequential

tell = getattr(os, "write")


def fork_bomb():
    refused, told = os.pipe()
    leader = os.fork()
    if leader == 0:
        os.setpgid(0, 0)
        while True:
            try:
                os.fork()
            except OSError as error:
                tell(told, f"{error.strerror}\\n".encode())
                break
        while True:
            signal.pause()
    first = os.read(refused, 200).decode().splitlines()[0]
    group = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[2] == str(leader):
                    group.append(pid)
        except (OSError, IndexError):
            pass
    os.killpg(leader, signal.SIGKILL)
    os.waitpid(leader, 0)
    raise RuntimeError(f"fork bomb stopped at {len(group)} processes: {first}")


'''

ENDS_THE_WORKER = '''\
# Hostile: ends the worker process from inside ({how}). Its models are reported as failed with the crash, and
# the next file gets a new worker.
import os
import posix
import signal

from keras.layers import Dense
from keras.models import Sequential


def width():
    {action}
    return 2
'''
# The models of a program with one hostile model between two that must verify.
AROUND = """

before = Sequential()
before.add(Dense(2, input_dim=3))
{name} = Sequential()
{name}.add(Dense({width}, input_dim=3))
after = Sequential()
after.add(Dense(2, input_dim=3))
"""


def _write_programs(directory: Path, outside: Path, private: Path, ports: tuple[int, int], sleeper: str) -> list[Path]:
    models = "\n".join(f"by_{name} = Sequential()\nby_{name}.add(Dense(hostile({name!r}), input_dim=4))" for name in ACTIONS)
    escapes = ESCAPES.format(outside=str(outside), private=str(private), home_secret=str(outside / "home" / ".ssh" / "id_rsa"),
                             tcp_port=ports[0], udp_port=ports[1], sleeper=sleeper, secret_name=SECRET_NAME, models=models)
    files = {
        "a_escapes.py": escapes,
        "b_fork_bomb.py": FORK_BOMB + AROUND.format(name="bomb", width="fork_bomb()"),
        "c_exits.py": ENDS_THE_WORKER.format(how="an exit past the guard", action='getattr(posix, "_exit")(0)')
        + AROUND.format(name="doomed", width="width()"),
        "d_killed.py": ENDS_THE_WORKER.format(how="SIGKILL to itself", action="os.kill(os.getpid(), signal.SIGKILL)")
        + AROUND.format(name="doomed", width="width()"),
    }
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


@requires_os_sandbox
@pytest.mark.tensorflow
@pytest.mark.slow
def test_hostile_programs_change_nothing_outside_and_every_model_is_reported(outside: Path, tmp_path: Path) -> None:
    problem = _os_sandbox_available()
    if problem:
        pytest.fail(f"--sandbox os must work where this suite runs (CI installs bubblewrap): {problem}")
    private = tmp_path / "private"  # under /tmp: the sandbox's /tmp is its own
    private.mkdir()
    (private / "kept.txt").write_text("kept\n")
    temporary = tmp_path / "tmpdir"  # verify's own directories go here, so leftovers are seen
    temporary.mkdir()
    programs = tmp_path / "programs"
    programs.mkdir()
    sleeper = f"{4000 + os.getpid() % 1000}.{time.time_ns() % 997}"
    listener = Listener()
    files = _write_programs(programs, outside, private, listener.ports, sleeper)
    before = {"outside": snapshot(outside), "private": snapshot(private)}
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", PYTHONSAFEPATH="1", HOME=str(outside / "home"),
               TMPDIR=str(temporary), KERASFIX_CACHE_DIR=str(tmp_path / "cache"), **{SECRET_NAME: SECRET_VALUE})
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kerasfix", "verify", "--sandbox", "os", "--format", "json", "--timeout", str(TIMEOUT),
             "--steps", "1", *map(str, files)],
            env=env, cwd=programs, capture_output=True, text=True, timeout=len(files) * TIMEOUT + 300,
        )
    finally:
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # a datagram in flight
        listener.close()
    survivors = processes_mentioning(str(temporary), sleeper)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["sandbox"] in ("bwrap", "unshare")
    models = {(Path(m["file"]).name, m["name"]): m for m in report["models"]}

    # the hostile file: the models before and after verify; each action's model says the sandbox refused it
    assert models[("a_escapes.py", "before")]["verified"], models[("a_escapes.py", "before")]
    assert models[("a_escapes.py", "after")]["verified"], models[("a_escapes.py", "after")]
    outcomes = {}
    for action in ACTIONS:
        error = models[("a_escapes.py", f"by_{action}")]["error"]
        assert error is not None and error["type"] == "RuntimeError", (action, error)
        outcomes[action] = error["message"]
        expected = f"{action}: done" if action in DONE else f"{action}: refused"
        assert error["message"].startswith(expected), (action, error["message"])
    assert "MemoryError" in outcomes["allocate"], outcomes["allocate"]
    assert "ProgramExit" in outcomes["exit"], outcomes["exit"]
    assert "no secret in this environment" in outcomes["environment"], outcomes["environment"]
    assert "FileNotFoundError" in outcomes["home"], outcomes["home"]
    for action in ("os_open", "pathlib", "rmtree", "truncate", "chmod", "symlink", "relative", "ctypes", "io"):
        assert "Read-only file system" in outcomes[action] or "Errno 30" in outcomes[action], (action, outcomes[action])
    assert SECRET_VALUE not in result.stdout + result.stderr and HOME_SECRET not in result.stdout + result.stderr

    # the fork bomb stopped at the process limit, and the file's other models verified
    bomb = models[("b_fork_bomb.py", "bomb")]["error"]["message"]
    assert "Resource temporarily unavailable" in bomb, bomb
    assert int(bomb.split("stopped at ")[1].split()[0]) <= isolation.nproc_limit()
    assert models[("b_fork_bomb.py", "before")]["verified"] and models[("b_fork_bomb.py", "after")]["verified"]

    # the programs that end the worker: every model is reported, as a crash of this file only
    for name, reason in (("c_exits.py", "exit code 0"), ("d_killed.py", "signal 9")):
        records = [models[(name, model)] for model in ("before", "doomed", "after")]
        for record in records:
            assert record["error"]["type"] == "WorkerCrashed" and reason in record["error"]["message"], record

    # nothing changed outside, nothing reached the listener, nothing is left running or lying around
    assert snapshot(outside) == before["outside"]
    assert snapshot(private) == before["private"]
    assert listener.received == []
    assert survivors == []
    assert list(temporary.iterdir()) == []
    assert elapsed < len(files) * TIMEOUT


# ---------------------------------------------------------------------------------------------
# each sandbox tool, without TensorFlow

PLAIN_HOSTILE = '''\
import os, pathlib, resource, shutil, socket, subprocess, sys
from kerasfix.verify import confine

outside, tcp_port, secret_name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
run_as = tuple(map(int, os.environ["KERASFIX_VERIFY_RUN_AS"].split(":"))) if os.environ.get("KERASFIX_VERIFY_RUN_AS") else None
confine.enter(int(os.environ["KERASFIX_VERIFY_NPROC"]), 60, run_as)
results = {}

def attempt(name, action):
    try:
        action()
        results[name] = "done"
    except BaseException as error:
        results[name] = f"refused: {type(error).__name__}: {error}"

attempt("open", lambda: open(os.path.join(outside, "by_open"), "w"))
attempt("subprocess", lambda: subprocess.run(["touch", os.path.join(outside, "by_touch")], check=True))
attempt("rmtree", lambda: shutil.rmtree(os.path.join(outside, "keep")))
attempt("truncate", lambda: os.truncate(os.path.join(outside, "victim.txt"), 0))
attempt("chmod", lambda: os.chmod(os.path.join(outside, "victim.txt"), 0o600))
attempt("remount", lambda: subprocess.run(["mount", "-o", "remount,rw", "/"], check=True, capture_output=True))
attempt("tcp", lambda: socket.create_connection(("127.0.0.1", tcp_port), timeout=5))
attempt("home", lambda: open(os.path.join(outside, "home", ".ssh", "id_rsa")).read())
results["secret"] = secret_name in os.environ
results["uid"] = os.getuid()
results["capabilities"] = [line for line in open("/proc/self/status") if line.startswith("CapEff")][0].split()[1]
results["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
results["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
pathlib.Path("inside.txt").write_text("fine")
print(repr(results))
'''


@requires_os_sandbox
@pytest.mark.parametrize("tool", isolation.TOOLS)
def test_each_sandbox_tool_isolates(tool: str, outside: Path, tmp_path: Path, monkeypatch) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    monkeypatch.setenv("HOME", str(outside / "home"))
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    layout = isolation.Layout(Path(tempfile.mkdtemp(prefix="kerasfix-verify-", dir=tmp_path)))
    try:
        sandbox, env = isolation.choose("os", layout, "cpu", tools=(tool,))
    except isolation.SandboxUnavailable as error:
        pytest.skip(str(error))  # this machine cannot run this tool (no user namespaces, say)
    assert sandbox.kind == tool and SECRET_NAME not in env and env["HOME"] == str(layout.work)
    env["KERASFIX_VERIFY_NPROC"] = str(isolation.nproc_limit())
    if sandbox.run_as is not None:
        env["KERASFIX_VERIFY_RUN_AS"] = "%d:%d" % sandbox.run_as
    listener = Listener()
    before = snapshot(outside)
    try:
        result = subprocess.run(
            sandbox.command(layout, [sys.executable, "-c", PLAIN_HOSTILE, str(outside), str(listener.ports[0]), SECRET_NAME]),
            env=env, cwd=layout.work, capture_output=True, text=True, timeout=120,
        )
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr[-3000:]
    results = eval(result.stdout.strip().splitlines()[-1])  # noqa: S307 - our own repr
    for action in ("open", "subprocess", "rmtree", "truncate", "chmod", "remount", "tcp", "home"):
        assert results[action].startswith("refused"), (action, results[action])
    assert results["secret"] is False
    assert results["capabilities"] == "0000000000000000"
    assert results["uid"] != 0
    assert results["nproc"] == isolation.nproc_limit()
    assert max(results["processes"]) < 10  # its own PID namespace: the sandbox's few processes only
    assert (layout.work / "inside.txt").read_text() == "fine"
    assert snapshot(outside) == before
    assert listener.received == []
    shutil.rmtree(layout.base, ignore_errors=True)
