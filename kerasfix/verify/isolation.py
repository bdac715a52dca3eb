"""Which operating-system sandbox runs the verify worker (bubblewrap, unshare, or none), and how it is built.

One mount plan serves both tools: the root file system read-only, new /dev and /proc, empty private /tmp and
/run, home directories hidden (the Python installation re-bound read-only where it lives inside one) and the
worker's directory the only writable place. No parent's environment variable reaches the worker unless it is
one the worker needs.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kerasfix.verify import devices

MODES = ("auto", "os", "python")
TOOLS = ("bwrap", "unshare")  # in order of preference
PROBE_TIMEOUT = 60.0
# RLIMIT_NPROC in the OS sandbox: threads count too, and TensorFlow starts a few per core.
NPROC_BASE, NPROC_PER_CORE = 128, 8
# Root runs the worker as a user of its own, picked in a range that account databases leave alone.
ACCOUNT_BASE, ACCOUNT_RANGE = 3_000_000_000, 1_000_000_000
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The parent's variables a worker may need (CUDA's and the dynamic loader's); everything else is left behind.
PASSED_VARIABLES = ("LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "CUDA_PATH", "NVIDIA_VISIBLE_DEVICES",
                    "NVIDIA_DRIVER_CAPABILITIES", "XLA_FLAGS", "TZ")

PROBE = """\
import os, sys
from kerasfix.verify import confine
confine.enter(None, None, {run_as!r})
import numpy  # the installation is readable from inside
work = sys.argv[1]
with open(os.path.join(work, ".probe"), "w") as handle:
    handle.write("inside")
os.remove(os.path.join(work, ".probe"))
for outside in (os.path.dirname(work), "/usr"):
    try:
        open(os.path.join(outside, ".kerasfix-probe"), "w").close()
    except OSError:
        continue
    os.remove(os.path.join(outside, ".kerasfix-probe"))
    sys.exit("the sandbox lets the worker write to " + outside)
"""


class SandboxUnavailable(Exception):
    """`--sandbox os` was asked for and no operating-system sandbox works here; the message says why."""


@dataclass
class Layout:
    """The directories of one worker: `base` (the parent's, holding the log), `work` (the only place the
    worker may write; each file's job gets a directory inside it) and `staging` (the unshare sandbox's root)."""

    base: Path

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def staging(self) -> Path:
        return self.base / "root"

    @property
    def log(self) -> Path:
        return self.base / "worker.log"


@dataclass
class Sandbox:
    """How the worker is isolated: the sandbox tool's command before the worker's own, the mount plan, and the
    user root runs the worker as (the worker drops to it itself, see `confine.enter`)."""

    kind: str  # "bwrap", "unshare" or "python"
    prefix: list[str] = field(default_factory=list)
    run_as: tuple[int, int] | None = None
    plan: list[list[str]] = field(default_factory=list)
    warning: str | None = None  # why `auto` found no OS sandbox

    @property
    def isolated(self) -> bool:
        return self.kind != "python"

    def command(self, layout: Layout, program: list[str]) -> list[str]:
        """The whole command that runs `program` in this sandbox."""
        if self.kind == "unshare":
            # the sandbox's first process builds its file system, then starts the program
            return [*self.prefix, sys.executable, "-m", "kerasfix.verify.confine", json.dumps(self.plan),
                    str(layout.staging), str(layout.work), "--", *program]
        return [*self.prefix, *program]


def nproc_limit() -> int:
    return NPROC_BASE + NPROC_PER_CORE * (os.cpu_count() or 1)


def _unprivileged_account() -> tuple[int, int]:
    """Whom root runs the worker as: a user and group of its own, which no file and no other process has
    (RLIMIT_NPROC does not bind root, and counts every process of the user it binds)."""
    import secrets

    number = ACCOUNT_BASE + secrets.randbelow(ACCOUNT_RANGE)
    return number, number


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _hidden_directories() -> list[str]:
    """Home directories: the user's (by $HOME and by account), /home and /root."""
    import pwd

    found = {"/home", "/root", os.environ.get("HOME", "")}
    try:
        found.add(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        pass
    real = {os.path.realpath(path) for path in found if path and os.path.isdir(path)}
    return sorted(path for path in real if path != "/" and not any(_under(path, other) for other in real if other != path))


def _python_paths() -> list[str]:
    """Everything the worker's interpreter reads to import kerasfix, NumPy, TensorFlow and Keras."""
    root = str(Path(__file__).resolve().parents[2])
    here = os.getcwd()
    candidates = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.path.dirname(sys.executable),
                  os.path.dirname(os.path.realpath(sys.executable)), root,
                  *(entry for entry in sys.path if entry and os.path.abspath(entry) != here),
                  *os.environ.get("PYTHONPATH", "").split(os.pathsep)}
    paths = set()
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            paths.add(os.path.abspath(candidate))
            paths.add(os.path.realpath(candidate))
    return sorted(paths)


def _outermost(paths: list[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda p: (p.count("/"), p)):
        if not any(_under(path, parent) for parent in kept):
            kept.append(path)
    return kept


def readable_binds(readable: tuple[str, ...], hidden: list[str], base: str) -> list[list[str]]:
    """Read-only binds of the directories the user's programs read (their own directories, `--data`) where the
    plan hides them; never a whole hidden directory or /tmp, nor one holding the worker's own directory."""
    covers = [*hidden, "/tmp"]
    wanted = [os.path.realpath(path) for path in readable if path and os.path.isdir(path)]
    wanted = [path for path in wanted if path not in covers and any(_under(path, cover) for cover in covers)
              and not _under(base, path)]
    return [["ro-bind", path, path] for path in _outermost(wanted)]


def mount_plan(layout: Layout, device: str, readable: tuple[str, ...] = ()) -> list[list[str]]:
    """The sandbox's file system, in order (bubblewrap's options, as lists)."""
    base = str(layout.base)
    plan: list[list[str]] = [["ro-bind", "/", "/"], ["dev", "/dev"], ["proc", "/proc"], ["tmpfs", "/tmp"]]
    for directory in ("/run", "/var/run"):
        if os.path.isdir(directory) and not os.path.islink(directory):
            plan.append(["tmpfs", directory])
    hidden = _hidden_directories()
    plan.extend(["tmpfs", directory] for directory in hidden)
    plan.extend(["ro-bind", os.path.realpath(path), path] for path in _outermost(
        [path for path in _python_paths() if (any(_under(path, h) and path != h for h in hidden) or _under(path, "/tmp"))
         and not _under(base, path)]))
    plan.extend(readable_binds(readable, hidden, base))
    if device != "cpu":
        plan.extend(["dev-bind", path, path] for path in sorted(glob.glob("/dev/nvidia*")) + ["/dev/dri"] if os.path.exists(path))
    plan.append(["bind", str(layout.work), str(layout.work)])
    return _with_directories(plan)


def _with_directories(plan: list[list[str]]) -> list[list[str]]:
    """Before each bind into an empty tmpfs, the directories leading to it, made world-readable (bubblewrap
    would create them private to root, and the worker may run as another user)."""
    result: list[list[str]] = []
    made: set[str] = set()
    tmpfs: list[str] = []
    for operation in plan:
        kind, *paths = operation
        if kind in ("tmpfs", "dev"):
            tmpfs.append(paths[0])
        elif kind.endswith("bind") and paths[-1] != "/":
            cover = max((t for t in tmpfs if _under(paths[-1], t) and paths[-1] != t), key=len, default=None)
            if cover is not None:
                parent = os.path.dirname(paths[-1])
                missing = []
                while parent != cover and parent not in made and _under(parent, cover):
                    missing.append(parent)
                    parent = os.path.dirname(parent)
                for directory in reversed(missing):
                    result.append(["dir", directory])
                    made.add(directory)
        result.append(operation)
    return result


def environment(layout: Layout, device: str) -> dict[str, str]:
    """The worker's whole environment: nothing of the parent's but what TensorFlow and Python need."""
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": str(layout.work),
           "TMPDIR": str(layout.work), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONSAFEPATH": "1", "PYTHONNOUSERSITE": "1",
           # NumPy's BLAS needs no threads of its own here (TensorFlow has its pools); a BLAS thread pool that
           # cannot be restarted after the program forked to the process limit would spin forever
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update({name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ})
    env.update(devices.worker_environment(device))
    root = str(Path(__file__).resolve().parents[2])
    import site

    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    search = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    if user_site and user_site in sys.path:
        search.append(user_site)  # HOME changes, so the worker would not find the user's site-packages by itself
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(search))
    return env


def _bwrap_prefix(plan: list[list[str]], layout: Layout, run_as: tuple[int, int] | None, executable: str) -> list[str]:
    args = [executable]
    for kind, *paths in plan:
        args += (["--perms", "0755"] if kind == "dir" else []) + [f"--{kind}", *paths]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent", "--new-session", "--chdir", str(layout.work)]
    if run_as is not None:
        # bubblewrap run by root keeps capabilities unless told; keep only what dropping to `run_as` needs
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    return args + ["--"]


def _unshare_prefix(run_as: tuple[int, int] | None, executable: str) -> list[str]:
    args = [executable, "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
    if run_as is None:
        args += ["--user", "--map-root-user"]
    return args + ["--"]


def _probe(sandbox: Sandbox, layout: Layout, env: dict[str, str]) -> str | None:
    """None when the sandbox starts Python, imports from the installation and writes only where it should;
    else what went wrong."""
    command = sandbox.command(layout, [sys.executable, "-c", PROBE.format(run_as=sandbox.run_as), str(layout.work)])
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                                cwd=str(layout.work), start_new_session=True)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if result.returncode == 0:
        return None
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {result.returncode}"


def prepare_layout(layout: Layout, run_as: tuple[int, int] | None) -> None:
    """The worker's writable directory (its owner is the user the worker runs as) and the staging root."""
    layout.base.chmod(0o711)  # the sandbox user may pass through to `work`, not list the parent's files
    layout.work.mkdir(exist_ok=True)
    layout.staging.mkdir(exist_ok=True)
    if run_as is not None:
        os.chown(layout.work, *run_as)


def choose(requested: str, layout: Layout, device: str, tools: tuple[str, ...] = TOOLS,
           readable: tuple[str, ...] = ()) -> tuple[Sandbox, dict[str, str]]:
    """The sandbox for `--sandbox requested`, and the worker's environment. `os` raises SandboxUnavailable when
    no OS sandbox works; `auto` then falls back to the Python-level guards with a warning."""
    if requested not in MODES:
        raise ValueError(f"unknown sandbox {requested!r} (choose {', '.join(MODES)})")
    env = environment(layout, device)
    if requested == "python":
        prepare_layout(layout, None)
        return Sandbox("python"), env
    run_as = _unprivileged_account() if os.geteuid() == 0 else None
    prepare_layout(layout, run_as)
    plan = mount_plan(layout, device, readable)
    tried: list[str] = []
    if not sys.platform.startswith("linux"):
        tried.append(f"no Linux namespaces on {sys.platform}")
    else:
        for tool in tools:
            executable = shutil.which(tool)
            if executable is None:
                tried.append(f"{tool}: not installed")
                continue
            prefix = _bwrap_prefix(plan, layout, run_as, executable) if tool == "bwrap" else _unshare_prefix(run_as, executable)
            sandbox = Sandbox(tool, prefix, run_as, plan=plan)
            sandbox_env = dict(env)
            if tool == "unshare" and run_as is None:
                # the unshare sandbox's first process maps us back from root to ourselves
                sandbox_env.update(KERASFIX_VERIFY_REAL_UID=str(os.getuid()), KERASFIX_VERIFY_REAL_GID=str(os.getgid()))
            problem = _probe(sandbox, layout, sandbox_env)
            if problem is None:
                return sandbox, sandbox_env
            tried.append(f"{tool}: {problem}")
    reason = "; ".join(tried)
    if requested == "os":
        raise SandboxUnavailable(
            f"--sandbox os: no operating-system sandbox works here ({reason}); install bubblewrap (apt-get install "
            "bubblewrap), allow unprivileged user namespaces, or use --sandbox python")
    warning = (f"verify runs programs without an operating-system sandbox ({reason}): only Python-level guards "
               "stand between the program and your files and network, and a hostile program can get past them. "
               "Install bubblewrap (apt-get install bubblewrap) to isolate it, or pass --sandbox python to "
               "accept this without a warning.")
    return Sandbox("python", warning=warning), env
