"""Run the kerasfix command line over a copy of the corpus (check, migrate --unsafe-fixes, check, migrate
again) and record what it leaves: the numbers benchmarks/corpus.py prints and tests/test_corpus.py asserts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from corpus.backend_calls import find_backend_calls, keras3_backend_names, report_only_functions
from corpus.fetch import ROOT, CorpusFile, copy_corpus

# how the text report of `migrate` labels a file it could not process: `<file>: error: ...`, `<file>: internal error: ...`
ERROR_LINE = re.compile(r"^(?P<file>.+?)(?::\d+(?::\d+)?)?: (?P<kind>internal error|error): (?P<message>.*)$")
INTERNAL_MARK = "kerasfix failed on this file"


def run_kerasfix(args: list[str], cwd: Path, timeout: float = 3600) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m kerasfix ARGS` in `cwd` with this checkout first on PYTHONPATH; the result and its wall time."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1", PYTHONSAFEPATH="1")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "kerasfix", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    return result, time.perf_counter() - started


def _relative(name: str) -> str:
    return Path(name).as_posix().removeprefix("./")


def check(root: Path, jobs: int | None = None) -> dict:
    """`check --select ALL` over `root`: findings by code and by file, and the files it could not check."""
    args = ["check", "--isolated", "--no-cache", "--output-format", "json", "--select", "ALL", "."]
    if jobs:
        args += ["--jobs", str(jobs)]
    result, seconds = run_kerasfix(args, root)
    try:
        entries = json.loads(result.stdout) if result.returncode in (0, 1) else None
    except ValueError:
        entries = None
    if entries is None:
        return {"seconds": round(seconds, 2), "returncode": result.returncode, "crashed": True, "total": 0, "fixable": 0,
                "by_code": {}, "by_file": {}, "errors": [], "output_tail": (result.stdout + result.stderr).strip()[-3000:]}
    findings = [e for e in entries if e.get("code")]
    errors = [{"file": _relative(e["filename"]), "kind": "internal" if INTERNAL_MARK in e["message"] else e.get("error") or "error",
               "line": e.get("location", {}).get("row"), "message": e["message"]} for e in entries if not e.get("code")]
    return {
        "seconds": round(seconds, 2),
        "returncode": result.returncode,
        "crashed": False,
        "total": len(findings),
        "fixable": sum(1 for e in findings if e.get("fix")),
        "by_code": dict(Counter(e["code"] for e in findings).most_common()),
        "by_file": dict(Counter(_relative(e["filename"]) for e in findings)),
        "errors": errors,
        "output_tail": "",
    }


def migrate(root: Path, jobs: int | None = None) -> dict:
    """`migrate --unsafe-fixes` over `root`: its summary line and the files it reported an error on."""
    args = ["migrate", "--isolated", "--no-cache", "--unsafe-fixes", "."]
    if jobs:
        args += ["--jobs", str(jobs)]
    result, seconds = run_kerasfix(args, root)
    output = result.stdout + result.stderr
    errors = []
    for line in output.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            kind = "internal" if match["kind"] == "internal error" or INTERNAL_MARK in line else "error"
            errors.append({"file": _relative(match["file"]), "kind": kind, "message": match["message"]})
    summary = next((line for line in reversed(output.splitlines()) if line.startswith(("Fixed", "No ", "Nothing"))), "")
    crashed = result.returncode not in (0, 1)
    return {"seconds": round(seconds, 2), "returncode": result.returncode, "crashed": crashed, "errors": errors,
            "summary": summary, "output_tail": output.strip()[-3000:] if crashed else ""}


def compile_error(data: bytes, name: str) -> str | None:
    """Why `compile()` refuses the source, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of third-party code are not ours to print
            compile(data, name, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{type(error).__name__}: {error.msg} (line {error.lineno})"
    except ValueError as error:  # NUL bytes and the like
        return f"ValueError: {error}"
    return None


def backend_calls(texts: dict[str, bytes], keras3: frozenset[str], report_only: frozenset[str] = frozenset()) -> dict:
    """The keras.backend calls in the files: by function, by file, and where the ones Keras 3 lacks are,
    split into the functions with no Keras 3 replacement (`report_only`) and those the catalogue rewrites."""
    by_function: Counter = Counter()
    missing: Counter = Counter()
    by_file: Counter = Counter()
    missing_by_file: Counter = Counter()
    sites = []
    rewritable = []
    for relative, data in texts.items():
        for call in find_backend_calls(data.decode("utf-8", errors="replace")):
            by_function[call.function] += 1
            by_file[relative] += 1
            if call.function not in keras3:
                missing[call.function] += 1
                missing_by_file[relative] += 1
                sites.append(f"{relative}:{call.line}:{call.column}: {call.callee}")
                if call.function not in report_only:
                    rewritable.append(f"{relative}:{call.line}:{call.column}: {call.callee}")
    return {
        "report_only": {"total": sum(n for f, n in missing.items() if f in report_only),
                        "by_function": {f: n for f, n in missing.most_common() if f in report_only}},
        "sites_with_rewrite": rewritable,
        "total": sum(by_function.values()),
        "by_function": dict(by_function.most_common()),
        "not_in_keras3": {"total": sum(missing.values()), "by_function": dict(missing.most_common())},
        "by_file": dict(by_file.most_common()),
        "not_in_keras3_by_file": dict(missing_by_file.most_common()),
        "sites_not_in_keras3": sites,
    }


def _lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def migrate_corpus(files: list[CorpusFile], jobs: int | None = None, keep: Path | None = None,
                   progress: Callable[[str], None] | None = None) -> dict:
    """Copy the corpus to a temporary directory and measure check / migrate --unsafe-fixes / check / migrate on it.
    `keep`: copy the migrated corpus there. The result is plain JSON data."""
    say = progress or (lambda message: None)
    relatives = [item.relative for item in files]
    group_of = {item.relative: item.group for item in files}
    keras3 = keras3_backend_names()
    scratch = Path(tempfile.mkdtemp(prefix="kerasfix-corpus-"))
    try:
        root = scratch / "corpus"
        originals = copy_corpus(files, root)
        compile_before = {r: compile_error(data, r) for r, data in originals.items()}
        say(f"corpus: {len(files)} files, {sum(map(_lines, originals.values()))} lines; check ...")
        before = check(root, jobs)
        say("migrate --unsafe-fixes ...")
        first = migrate(root, jobs)
        migrated = {r: (root / r).read_bytes() for r in relatives}
        say("check the migrated copy ...")
        after = check(root, jobs)
        say("migrate --unsafe-fixes a second time ...")
        second = migrate(root, jobs)
        again = {r: (root / r).read_bytes() for r in relatives}
        if keep:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(root, keep)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    changed = [r for r in relatives if migrated[r] != originals[r]]
    changed_again = [r for r in relatives if again[r] != migrated[r]]
    compile_after = {r: compile_error(data, r) for r, data in migrated.items()}
    broken = [{"file": r, "error": compile_after[r]} for r in relatives if compile_after[r] and not compile_before[r]]
    steps = {"check_before": before, "migrate": first, "check_after": after, "migrate_again": second}
    internal = sorted({(e["file"], e["message"]) for step in steps.values() for e in step["errors"] if e["kind"] == "internal"})
    report_only = report_only_functions()
    calls_before = backend_calls(originals, keras3, report_only)
    calls_after = backend_calls(migrated, keras3, report_only)

    groups: dict[str, Counter] = defaultdict(Counter)
    for r in relatives:
        g = groups[group_of[r]]
        g["files"] += 1
        g["lines"] += _lines(originals[r])
        g["findings_before"] += before["by_file"].get(r, 0)
        g["findings_after"] += after["by_file"].get(r, 0)
        g["changed"] += r in changed
        g["not_compiling"] += bool(compile_after[r]) and not compile_before[r]
        g["backend_calls_before"] += calls_before["by_file"].get(r, 0)
        g["backend_calls_after"] += calls_after["by_file"].get(r, 0)
        g["backend_calls_not_in_keras3"] += calls_after["not_in_keras3_by_file"].get(r, 0)

    return {
        "files": len(files),
        "lines": sum(map(_lines, originals.values())),
        "findings_before": {k: before[k] for k in ("total", "fixable", "by_code", "seconds")},
        "migrate": {"files_changed": len(changed), "files": changed, **{k: first[k] for k in ("seconds", "returncode", "crashed", "summary", "output_tail")}},
        "findings_after": {k: after[k] for k in ("total", "by_code", "seconds")},
        "compile": {"before": sum(1 for e in compile_before.values() if e is None),
                    "after": sum(1 for e in compile_after.values() if e is None),
                    "broken_by_migrate": broken,
                    "not_compiling_before": [{"file": r, "error": e} for r, e in compile_before.items() if e]},
        "second_migrate": {"files_changed": len(changed_again), "files": changed_again, "summary": second["summary"]},
        "backend_calls": {"keras3_backend": sorted(keras3),
                          "before": {k: v for k, v in calls_before.items() if k not in ("sites_not_in_keras3", "sites_with_rewrite")},
                          "after": calls_after},
        "internal_errors": [{"file": f, "message": m} for f, m in internal],
        "crashed": [name for name, step in steps.items() if step["crashed"]],
        "crash_output": {name: step["output_tail"] for name, step in steps.items() if step["crashed"]},
        "file_errors": {name: [e for e in step["errors"] if e["kind"] != "internal"] for name, step in steps.items()},
        "groups": {name: dict(counts) for name, counts in groups.items()},
    }
