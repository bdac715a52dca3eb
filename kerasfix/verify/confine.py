"""Inside the sandbox: build the unshare sandbox's file system, drop privileges, set resource limits, end strays.

`python -m kerasfix.verify.confine PLAN STAGING WORKDIR -- COMMAND...` is the first process of an `unshare`
sandbox (PID 1 of its PID namespace): it performs the mount plan (the one bubblewrap is given, as JSON) on
STAGING, makes that the root, starts COMMAND in WORKDIR as its only child and ends, with that child's status
(128 + N for signal N, as bubblewrap reports it), when it does, which ends every process of the namespace.
The worker calls `enter()` before it reads any request. Standard library only: it runs before anything else.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import signal
import sys

# Resource limits of the worker and of every process it starts (each process counts its own CPU time).
FILE_SIZE_LIMIT = 1 << 30  # RLIMIT_FSIZE: the largest file the program may write (1 GiB)

# mount(2) flags and clone(2) flags (linux/fs.h, linux/sched.h)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 0x20, 0x400, 0x800, 0x1000, 0x2000, 0x4000
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 0x40000, 0x200000, 0x1000000
CLONE_NEWUSER = 0x10000000
PR_SET_NO_NEW_PRIVS = 38
_KEPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
               "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


class ConfineError(OSError):
    """A step of building the sandbox failed; the message names it."""


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise ConfineError(number, f"{what}: {os.strerror(number)}")


# ---------------------------------------------------------------------------------------------
# the worker's own limits (every mode)


def enter(nproc: int | None, cpu_seconds: int | None, run_as: tuple[int, int] | None) -> list[str]:
    """Drop root (to `run_as`) where the sandbox started us as root, forbid regaining privileges and set the
    resource limits; returns notes on what could not be applied."""
    import resource

    notes: list[str] = []
    if run_as is not None and os.getuid() == 0:
        uid, gid = run_as
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # from root to another user: every capability goes with it
    try:
        _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    except (OSError, AttributeError) as error:
        notes.append(f"could not forbid gaining privileges: {error}")
    limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)]
    if cpu_seconds:
        limits.append((resource.RLIMIT_CPU, cpu_seconds))
    if nproc:
        limits.append((resource.RLIMIT_NPROC, nproc))
    for kind, value in limits:
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError) as error:
            notes.append(f"resource limit {kind} not applied: {error}")
    return notes


def cpu_time() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------
# processes the program left behind


def process_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent, process group, session) of a process, from /proc; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(parent, process group, session) of a live process."""
    found = process_stat(pid)
    return None if found is None or found[0] in ("Z", "X") else found[1:]


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def strays(root: int, whole_namespace: bool) -> list[int]:
    """Processes started by `root`'s programs: in a PID namespace of our own, every process but PID 1 and
    `root`; otherwise `root`'s descendants and the members of its process group and session."""
    pids = [pid for pid in _pids() if pid != root]
    if whole_namespace:
        return [pid for pid in pids if pid != 1]
    info = {pid: stat for pid in pids if (stat := _stat(pid)) is not None}
    own = _stat(root)
    found = {pid for pid, (_, group, session) in info.items() if own and (group == own[1] or session == own[2])}
    parents = {root}
    while True:
        children = {pid for pid, (parent, _, _) in info.items() if parent in parents and pid not in parents}
        if not children:
            break
        parents |= children
    return sorted(found | (parents - {root}))


def end_strays(root: int, whole_namespace: bool) -> int:
    """SIGKILL what `strays` finds, again until nothing new appears (a fork bomb keeps forking), and reap
    our own children; returns how many processes were ended."""
    ended: set[int] = set()
    for _ in range(50):
        found = [pid for pid in strays(root, whole_namespace) if pid not in ended or _stat(pid) is not None]
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            ended.add(pid)
        _reap()
    _reap()
    return len(ended)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ---------------------------------------------------------------------------------------------
# the unshare sandbox's first process


def _mounts_under(root: str) -> list[tuple[str, int]]:
    """Mount points at or below `root`, outermost first, with the flags a remount must keep."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), fields[4])  # \040: a space
            if point == root or point.startswith(root.rstrip("/") + "/"):
                flags = 0
                for option in fields[5].split(","):
                    flags |= _KEPT_FLAGS.get(option, 0)
                found.append((point, flags))
    return sorted(found, key=lambda item: item[0].count("/"))


class _Builder:
    """Performs the mount plan on a new root, as bubblewrap would."""

    def __init__(self, root: str) -> None:
        self.libc = _libc()
        self.root = root

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
        encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
        _check(self.libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
               f"mount {source or fstype} on {target}")

    def inside(self, path: str) -> str:
        return self.root.rstrip("/") + "/" + path.lstrip("/")

    def target(self, path: str, is_dir: bool = True) -> str:
        target = self.inside(path)
        if is_dir:
            os.makedirs(target, exist_ok=True)
        elif not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()  # noqa: SIM115 - an empty file to mount over
        return target

    def read_only(self, target: str, covered: tuple[str, ...] = ()) -> None:
        """Remount `target` and every mount below it read-only; a mount the plan covers later (/proc, /dev,
        /tmp) may refuse."""
        for point, flags in _mounts_under(target):
            try:
                self.mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
            except ConfineError:
                if not any(point == c or point.startswith(c + "/") for c in covered):
                    raise

    def bind(self, source: str, path: str, writable: bool) -> None:
        target = self.target(path, os.path.isdir(source))
        self.mount(source, target, None, MS_BIND | MS_REC)
        if not writable:
            self.read_only(target)

    def perform(self, operation: list[str]) -> None:
        kind, *args = operation
        if kind in ("ro-bind", "bind", "dev-bind"):
            self.bind(args[0], args[1], writable=kind != "ro-bind")
        elif kind == "dir":
            os.makedirs(self.inside(args[0]), mode=0o755, exist_ok=True)
        elif kind == "tmpfs":
            self.mount("tmpfs", self.target(args[0]), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        elif kind == "proc":
            target = self.target(args[0])
            try:
                self.mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            except ConfineError:
                pass  # a /proc with covered parts (in some containers) cannot be mounted again: keep the host's, read-only
        elif kind == "dev":
            target = self.target(args[0])
            self.mount("tmpfs", target, "tmpfs", MS_NOSUID, "mode=0755")
            for name in DEVICES:
                if os.path.exists(f"/dev/{name}"):
                    self.mount(f"/dev/{name}", self.target(f"{args[0]}/{name}", is_dir=False), None, MS_BIND)
            os.makedirs(f"{target}/shm")
            for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                               ("stderr", "/proc/self/fd/2")):
                os.symlink(link, f"{target}/{name}")
        else:
            raise ConfineError(0, f"unknown mount operation {kind!r}")


def build_root(plan: list[list[str]], staging: str) -> None:
    """Make `staging` the root of a file system built from `plan` and change into it (needs a mount namespace
    of our own, as root in it)."""
    os.umask(0o022)
    builder = _Builder(staging)
    builder.mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back to the host
    first, *rest = plan
    if first[:3] != ["ro-bind", "/", "/"]:
        raise ConfineError(0, "the mount plan must start with a read-only bind of /")
    builder.mount("/", staging, None, MS_BIND | MS_REC)
    covered = tuple(builder.inside(op[1]).rstrip("/") for op in rest if op[0] in ("tmpfs", "proc", "dev"))
    builder.read_only(staging, covered)
    for operation in rest:
        builder.perform(operation)
    os.chdir(staging)
    builder.mount(staging, "/", None, MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def _own_user_namespace() -> None:
    """A nested user namespace in which we are the real user again, not root: the mounts above can no longer be
    changed, and `execve` leaves no capability behind."""
    libc = _libc()
    outer_uid, outer_gid = int(os.environ["KERASFIX_VERIFY_REAL_UID"]), int(os.environ["KERASFIX_VERIFY_REAL_GID"])
    _check(libc.unshare(CLONE_NEWUSER), "a nested user namespace")
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"{outer_uid} 0 1\n")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"{outer_gid} 0 1\n")


def init(plan: list[list[str]], staging: str, workdir: str, command: list[str]) -> int:
    """PID 1 of the sandbox: build the root, start `command` and reap every process until it ends."""
    build_root(plan, staging)
    os.chdir(workdir)
    child = os.fork()
    if child == 0:
        try:
            if "KERASFIX_VERIFY_REAL_UID" in os.environ:
                _own_user_namespace()
            os.execv(command[0], command)
        except BaseException as error:  # noqa: BLE001 - say why, then leave
            print(f"kerasfix verify sandbox: cannot start the worker: {error}", file=sys.stderr, flush=True)
        finally:
            os._exit(127)
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda *_: os.kill(child, signal.SIGKILL))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        if pid == child:
            return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    """`confine PLAN_JSON STAGING WORKDIR -- COMMAND...`"""
    separator = argv.index("--")
    plan, staging, workdir = json.loads(argv[0]), argv[1], argv[2]
    try:
        code = init(plan, staging, workdir, argv[separator + 1:])
    except OSError as error:
        print(f"kerasfix verify sandbox: {error}", file=sys.stderr, flush=True)
        return 126
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
