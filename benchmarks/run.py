#!/usr/bin/env python3
"""Benchmark kerasfix against its floors and its peers, side by side on the same files, in one run.

Corpora (built from what is installed, copied into a temporary directory so every tool reads the
same files and none of them writes next to the originals):

  keras       the Keras 3 package source (site-packages/keras, *.py)
  tensorflow  the TensorFlow Python source (site-packages/tensorflow, *.py)
  legacy      the project's fixtures (fixtures/**/*.py without *.fixed.py), replicated to a few
              thousand lines of Keras 1/2 code (--legacy-lines)

Measured (wall time of the whole process, start to exit; the median of --repeats runs):

  kerasfix check, cold (--no-cache), warm (cache filled, nothing changed), cold with --jobs 1, and
      on the Keras tree cold with the prefilter off (KERASFIX_PREFILTER=0: every file parsed)
  kerasfix migrate --diff on the legacy corpus
  one-file latency as pre-commit runs it (`python -m kerasfix check FILE`, cache emptied first, so
      as for a file just edited) for a small Keras file and a small non-Keras file; and the bare
      interpreter start (`python -c pass`) for reference
  floors, in-process and on one core: libcst.parse_module and ast.parse over the same files
      (only the parse loop is timed)
  peers on the Keras tree: TorchFix and Fixit (installed with pip into benchmarks/.venv-peers,
      created on first use; failures to install or run are recorded, not fatal); tf_upgrade_v2
      (shipped with TensorFlow) on the legacy corpus

A measurement whose first run takes longer than --max-slow seconds is not repeated (its n is 1).
Every figure's ratio to the kerasfix reference of its corpus is printed (check cold; for the legacy
corpus migrate --diff); then the targets of the issue "Speed: the fastest Keras linter":

  cold check of the Keras tree  <= 1/4 of the bare LibCST parse time of the same files
  cold check of the Keras tree  >= 20x faster than TorchFix
  warm check of the Keras tree  <= 1/25 of the bare LibCST parse time
  one-file pre-commit run       < 150 ms on a non-Keras file, < 700 ms on a small Keras file
  migrate on the legacy corpus  faster than tf_upgrade_v2 (or tf_upgrade_v2 fails on it)

The machine's load average is recorded before and after each measurement: other work on the
machine inflates wall times, so read the figures next to it.

Usage:
  python benchmarks/run.py                 # everything, 3 repeats (about 15-30 minutes)
  python benchmarks/run.py --quick         # one run of each
  python benchmarks/run.py --corpora keras,latency --no-peers

Run it with the interpreter that has kerasfix's dependencies and TensorFlow/Keras installed; the
kerasfix measured is this checkout (PYTHONPATH). The table goes to stdout; the JSON with every
sample, the machine and the versions to benchmarks/results/latest.json and a dated copy.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
PEERS_VENV = BENCH / ".venv-peers"
RESULTS = BENCH / "results"
PEER_PACKAGES = ["torchfix", "fixit"]

NON_KERAS_FILE = '''"""Small helpers for paths and text: no Keras here."""

import os
import re
from pathlib import Path

_WORD = re.compile(r"[A-Za-z_]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def model_dir(root: str, name: str) -> Path:
    """Where a model's files go (the word `Model` and `input` appear, but no Keras import)."""
    path = Path(os.path.join(root, name))
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_input(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


class Sequential:
    def __init__(self, steps):
        self.steps = list(steps)

    def __call__(self, value):
        for step in self.steps:
            value = step(value)
        return value
'''

FLOOR_SCRIPT = r'''
import ast, io, json, sys, time, tokenize
from pathlib import Path
kind, listing = sys.argv[1], sys.argv[2]
texts = []
for name in Path(listing).read_text().splitlines():
    raw = Path(name).read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        texts.append(raw.decode(encoding))
    except (SyntaxError, UnicodeDecodeError, LookupError):
        pass
if kind == "libcst":
    import libcst
    parse, errors = libcst.parse_module, (libcst.ParserSyntaxError, RecursionError)
else:
    parse, errors = ast.parse, (SyntaxError, ValueError, RecursionError)
failed = 0
start = time.perf_counter()
for text in texts:
    try:
        parse(text)
    except errors:
        failed += 1
print(json.dumps({"seconds": time.perf_counter() - start, "files": len(texts), "failed": failed}))
'''


@dataclass
class Measurement:
    key: str
    label: str
    corpus: str
    samples: list[float] = field(default_factory=list)
    returncodes: list[int] = field(default_factory=list)
    load: list[list[float]] = field(default_factory=list)  # 1-minute load average before/after each run
    ok: bool = True
    note: str = ""
    output_tail: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


@dataclass
class Corpus:
    name: str
    directory: Path
    files: list[Path]
    lines: int
    size: int


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.python = sys.executable
        self.measurements: list[Measurement] = []
        self.corpora: dict[str, Corpus] = {}
        self.peers: dict[str, dict] = {}
        self.notes: list[str] = []

    # -- running ---------------------------------------------------------------------------------------

    def kerasfix_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
        env.pop("KERASFIX_PREFILTER", None)  # the prefilter is on unless a measurement says otherwise
        env.update(extra)
        return env

    def run(
        self,
        key: str,
        label: str,
        corpus: str,
        command: list[str],
        cwd: Path,
        *,
        env: dict[str, str] | None = None,
        repeats: int | None = None,
        setup=None,
        allowed: tuple[int, ...] = (0, 1),
        timer=None,
    ) -> Measurement:
        """Time `command` (or `timer()`, which returns seconds) `repeats` times; record what it says."""
        measurement = Measurement(key, label, corpus)
        repeats = repeats or self.args.repeats
        print(f"  {label} [{corpus}] ...", end="", flush=True, file=sys.stderr)
        for _ in range(repeats):
            if setup is not None:
                setup()
            before = os.getloadavg()[0]
            try:
                if timer is not None:
                    seconds, code, tail = timer()
                else:
                    start = time.perf_counter()
                    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, errors="replace")
                    seconds = time.perf_counter() - start
                    code, tail = result.returncode, _tail(result.stdout, result.stderr)
            except (OSError, subprocess.SubprocessError, ValueError) as error:
                measurement.ok, measurement.note = False, f"could not run: {error}"
                break
            measurement.load.append([round(before, 2), round(os.getloadavg()[0], 2)])
            measurement.returncodes.append(code)
            measurement.output_tail = tail
            if code not in allowed:
                measurement.ok = False
                measurement.note = f"exit code {code}"
                break
            measurement.samples.append(seconds)
            if seconds > self.args.max_slow:
                if repeats > 1:
                    measurement.note = f"not repeated: the first run took over {self.args.max_slow:g} s"
                break
        shown = f"{measurement.median:.3f} s" if measurement.median is not None else f"FAILED ({measurement.note})"
        print(f" {shown}", file=sys.stderr)
        self.measurements.append(measurement)
        return measurement

    def kerasfix(self, *args: str) -> list[str]:
        return [self.python, "-m", "kerasfix", *args]

    # -- corpora ---------------------------------------------------------------------------------------

    def copy_package(self, name: str) -> Corpus | None:
        spec = importlib.util.find_spec(name)  # located, not imported
        if spec is None or not spec.submodule_search_locations:
            self.notes.append(f"{name} is not installed: its corpus is skipped")
            return None
        source = Path(list(spec.submodule_search_locations)[0])
        target = self.work / name / name
        for path in sorted(source.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        return self.register(name, target)

    def build_legacy(self) -> Corpus:
        programs = sorted(p for p in (REPO / "fixtures").rglob("*.py") if not p.name.endswith(".fixed.py"))
        target = self.work / "legacy" / "legacy"
        lines = 0
        copy = 0
        while programs and lines < self.args.legacy_lines:
            for path in programs:
                destination = target / f"copy{copy:03d}" / path.relative_to(REPO / "fixtures")
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
                lines += path.read_bytes().count(b"\n")
            copy += 1
        return self.register("legacy", target)

    def register(self, name: str, directory: Path) -> Corpus:
        files = sorted(directory.rglob("*.py"))
        data = [path.read_bytes() for path in files]
        corpus = Corpus(name, directory, files, sum(d.count(b"\n") for d in data), sum(len(d) for d in data))
        listing = self.work / f"{name}.files"
        listing.write_text("\n".join(str(path) for path in files))
        self.corpora[name] = corpus
        print(f"corpus {name}: {len(files)} files, {corpus.lines:,} lines", file=sys.stderr)
        return corpus

    # -- measurements ----------------------------------------------------------------------------------

    def check_runs(self, corpus: Corpus, prefilter_off: bool) -> None:
        cwd = corpus.directory.parent
        target = corpus.directory.name
        name = corpus.name
        env = self.kerasfix_env()
        self.run(f"{name}.cold", "kerasfix check (cold, --no-cache)", name, self.kerasfix("check", "--isolated", "--no-cache", target), cwd, env=env)
        cache = cwd / ".kerasfix_cache"
        shutil.rmtree(cache, ignore_errors=True)
        fill = subprocess.run(self.kerasfix("check", "--isolated", target), cwd=cwd, env=env, capture_output=True)
        if fill.returncode not in (0, 1):
            self.notes.append(f"{name}: filling the cache failed with exit code {fill.returncode}")
        self.run(f"{name}.warm", "kerasfix check (warm cache)", name, self.kerasfix("check", "--isolated", target), cwd, env=env)
        self.run(f"{name}.jobs1", "kerasfix check --jobs 1 (cold)", name, self.kerasfix("check", "--isolated", "--no-cache", "--jobs", "1", target), cwd, env=env)
        if prefilter_off:
            self.run(
                f"{name}.noprefilter",
                "kerasfix check (cold, prefilter off)",
                name,
                self.kerasfix("check", "--isolated", "--no-cache", target),
                cwd,
                env=self.kerasfix_env(KERASFIX_PREFILTER="0"),
            )
        shutil.rmtree(cache, ignore_errors=True)

    def floors(self, corpus: Corpus) -> None:
        listing = self.work / f"{corpus.name}.files"
        script = self.work / "floor.py"
        script.write_text(FLOOR_SCRIPT)
        for kind, label in (("libcst", "floor: libcst.parse_module (1 core)"), ("ast", "floor: ast.parse (1 core)")):

            def timer(kind=kind):
                result = subprocess.run([self.python, str(script), kind, str(listing)], capture_output=True, text=True)
                if result.returncode != 0:
                    return 0.0, result.returncode, _tail(result.stdout, result.stderr)
                report = json.loads(result.stdout.strip().splitlines()[-1])
                return report["seconds"], 0, f"{report['files']} files parsed, {report['failed']} rejected"

            self.run(f"{corpus.name}.floor.{kind}", label, corpus.name, [], self.work, timer=timer, allowed=(0,))

    def ensure_peers(self) -> None:
        python = PEERS_VENV / "bin" / "python"
        if not python.exists():
            print(f"creating {PEERS_VENV.relative_to(REPO)} and installing {', '.join(PEER_PACKAGES)} ...", file=sys.stderr)
            made = subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], capture_output=True, text=True)
            if made.returncode != 0:
                for package in PEER_PACKAGES:
                    self.peers[package] = {"installed": False, "why": "venv creation failed: " + _tail(made.stdout, made.stderr)}
                return
        for package in PEER_PACKAGES:
            shown = subprocess.run([str(python), "-m", "pip", "show", package], capture_output=True, text=True)
            if shown.returncode != 0:
                installed = subprocess.run([str(python), "-m", "pip", "install", "-q", package], capture_output=True, text=True)
                if installed.returncode != 0:
                    self.peers[package] = {"installed": False, "why": "pip install failed: " + _tail(installed.stdout, installed.stderr)}
                    continue
                shown = subprocess.run([str(python), "-m", "pip", "show", package], capture_output=True, text=True)
            version = next((line.split(":", 1)[1].strip() for line in shown.stdout.splitlines() if line.startswith("Version:")), "?")
            self.peers[package] = {"installed": True, "version": version}
        libcst = subprocess.run([str(python), "-m", "pip", "show", "libcst"], capture_output=True, text=True)
        self.peers["libcst (peers' venv)"] = {
            "version": next((line.split(":", 1)[1].strip() for line in libcst.stdout.splitlines() if line.startswith("Version:")), "?")
        }

    def peer_runs(self, corpus: Corpus) -> None:
        self.ensure_peers()
        cwd = corpus.directory.parent
        target = corpus.directory.name
        binary = PEERS_VENV / "bin"
        if self.peers.get("torchfix", {}).get("installed"):
            version = self.peers["torchfix"]["version"]
            self.run(f"{corpus.name}.torchfix", f"peer: TorchFix {version}", corpus.name, [str(binary / "torchfix"), target], cwd, allowed=(0, 1))
        if self.peers.get("fixit", {}).get("installed"):
            version = self.peers["fixit"]["version"]
            self.run(f"{corpus.name}.fixit", f"peer: Fixit {version} (lint)", corpus.name, [str(binary / "fixit"), "lint", target], cwd, allowed=(0, 1))

    def legacy_runs(self, corpus: Corpus, peers: bool) -> None:
        cwd = corpus.directory.parent
        target = corpus.directory.name
        self.run("legacy.migrate", "kerasfix migrate --diff", "legacy", self.kerasfix("migrate", "--isolated", "--diff", target), cwd, env=self.kerasfix_env())
        self.run("legacy.cold", "kerasfix check (cold, --no-cache)", "legacy", self.kerasfix("check", "--isolated", "--no-cache", target), cwd, env=self.kerasfix_env())
        if not peers:
            return
        upgrade = shutil.which("tf_upgrade_v2", path=str(Path(sys.executable).parent)) or shutil.which("tf_upgrade_v2")
        if upgrade is None:
            self.notes.append("tf_upgrade_v2 is not installed (it ships with TensorFlow)")
            return
        out = self.work / "tf_upgrade_v2.out"
        report = self.work / "tf_upgrade_v2.report.txt"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            report.unlink(missing_ok=True)

        measurement = self.run(
            "legacy.tf_upgrade_v2",
            "peer: tf_upgrade_v2 --intree/--outtree",
            "legacy",
            [upgrade, "--intree", target, "--outtree", str(out), "--reportfile", str(report)],
            cwd,
            setup=fresh,
            allowed=(0,),
        )
        if report.exists():
            text = report.read_text(errors="replace")
            summary = [line for line in text.splitlines() if "files" in line.lower() and ("processed" in line.lower() or "error" in line.lower())]
            errors = text.count("ERROR:")
            measurement.note = (measurement.note + "; " if measurement.note else "") + f"report: {errors} ERROR lines" + (f"; {summary[0].strip()}" if summary else "")

    def latency_runs(self) -> None:
        directory = self.work / "latency"
        directory.mkdir(exist_ok=True)
        keras_file = directory / "model.py"
        shutil.copyfile(self.args.keras_file, keras_file)
        plain_file = directory / "helpers.py"
        plain_file.write_text(NON_KERAS_FILE)
        repeats = self.args.latency_repeats or max(5, 5 * self.args.repeats)
        cache = directory / ".kerasfix_cache"

        def empty_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        env = self.kerasfix_env()
        self.run("latency.python", "python -c pass (interpreter start)", "latency", [self.python, "-c", "pass"], directory, repeats=repeats)
        self.run("latency.plain", f"kerasfix check {plain_file.name} (non-Keras, {_lines(plain_file)} lines)", "latency", self.kerasfix("check", plain_file.name), directory, env=env, repeats=repeats, setup=empty_cache)
        self.run("latency.keras", f"kerasfix check {keras_file.name} (Keras, {_lines(keras_file)} lines)", "latency", self.kerasfix("check", keras_file.name), directory, env=env, repeats=repeats, setup=empty_cache)

    # -- report ----------------------------------------------------------------------------------------

    def get(self, key: str) -> float | None:
        for measurement in self.measurements:
            if measurement.key == key:
                return measurement.median
        return None

    def targets(self) -> list[dict]:
        cold, warm, floor = self.get("keras.cold"), self.get("keras.warm"), self.get("keras.floor.libcst")
        torchfix = self.get("keras.torchfix")
        plain, small = self.get("latency.plain"), self.get("latency.keras")
        migrate, upgrade = self.get("legacy.migrate"), self.get("legacy.tf_upgrade_v2")
        upgrade_failed = any(m.key == "legacy.tf_upgrade_v2" and not m.ok for m in self.measurements)
        rows = [
            ("cold check of the Keras tree <= 1/4 of bare LibCST parse", floor / cold if floor and cold else None, ">= 4 (parse / check)", lambda v: v >= 4),
            ("cold check of the Keras tree >= 20x faster than TorchFix", torchfix / cold if torchfix and cold else None, ">= 20 (TorchFix / check)", lambda v: v >= 20),
            ("warm check of the Keras tree <= 1/25 of bare LibCST parse", floor / warm if floor and warm else None, ">= 25 (parse / warm check)", lambda v: v >= 25),
            ("one-file run, non-Keras file", plain * 1000 if plain else None, "< 150 ms", lambda v: v < 150),
            ("one-file run, small Keras file", small * 1000 if small else None, "< 700 ms", lambda v: v < 700),
        ]
        results = []
        for name, value, goal, test in rows:
            results.append({"target": name, "value": value, "goal": goal, "met": None if value is None else bool(test(value))})
        if upgrade_failed:
            results.append({"target": "migrate on the legacy corpus faster than tf_upgrade_v2", "value": None, "goal": "tf_upgrade_v2 fails", "met": True})
        else:
            value = upgrade / migrate if upgrade and migrate else None
            results.append({"target": "migrate on the legacy corpus faster than tf_upgrade_v2", "value": value, "goal": "> 1 (tf_upgrade_v2 / migrate)", "met": None if value is None else value > 1})
        return results

    def table(self) -> str:
        lines = []
        references = {"legacy": "legacy.migrate", "latency": "latency.python"}
        for corpus in [*self.corpora, "latency"]:
            rows = [m for m in self.measurements if m.corpus == corpus]
            if not rows:
                continue
            reference_key = references.get(corpus, f"{corpus}.cold")
            reference = self.get(reference_key)
            if corpus in self.corpora:
                info = self.corpora[corpus]
                head = f"{corpus}: {len(info.files):,} files, {info.lines:,} lines, {info.size / 1e6:.1f} MB"
            else:
                head = "latency: one file, process start to exit"
            ratio_name = {"legacy": "x migrate", "latency": "x python start"}.get(corpus, "x kerasfix cold")
            lines.append("")
            lines.append(head)
            lines.append(f"  {'measurement':<48} {'n':>2} {'median':>10} {ratio_name:>15}  load  note")
            for m in rows:
                median = f"{m.median:.3f} s" if m.median is not None else "failed"
                ratio = f"{m.median / reference:.2f}" if m.median is not None and reference else "-"
                load = f"{max(l for pair in m.load for l in pair):.1f}" if m.load else "-"
                note = m.note if m.ok else f"FAILED: {m.note}; {m.output_tail[-200:]!r}"
                lines.append(f"  {m.label:<48} {len(m.samples):>2} {median:>10} {ratio:>15}  {load:>4}  {note}")
        lines.append("")
        lines.append("targets")
        for target in self.targets():
            value = "-" if target["value"] is None else f"{target['value']:.2f}"
            verdict = {True: "met", False: "NOT MET", None: "not measured"}[target["met"]]
            lines.append(f"  {target['target']:<60} {value:>9}  goal {target['goal']:<28} {verdict}")
        return "\n".join(lines)


def _tail(stdout: str, stderr: str, limit: int = 1500) -> str:
    text = (stdout or "").strip().splitlines()[-3:] + (stderr or "").strip().splitlines()[-8:]
    return "\n".join(text)[-limit:]


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout.strip())
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "kerasfix_commit": commit + ("+dirty" if dirty else ""),
        "versions": {name: _version(name) for name in ("libcst", "rich", "keras", "tensorflow", "tensorflow-cpu")},
        "load_at_start": list(os.getloadavg()),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one run of each measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is reported (default 3)")
    parser.add_argument("--latency-repeats", type=int, default=None, help="runs per one-file measurement (default 5 x repeats)")
    parser.add_argument("--corpora", default="keras,tensorflow,legacy,latency", help="which to run (default: all)")
    parser.add_argument("--no-peers", action="store_true", help="skip TorchFix, Fixit and tf_upgrade_v2")
    parser.add_argument("--max-slow", type=float, default=90.0, help="a run longer than this (seconds) is not repeated")
    parser.add_argument("--legacy-lines", type=int, default=5000, help="size of the legacy corpus in lines (default 5000)")
    parser.add_argument("--keras-file", type=Path, default=REPO / "fixtures" / "scripts" / "keras1_sgd_decay.py", help="the small Keras file of the latency runs")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary corpora")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = {name.strip() for name in args.corpora.split(",") if name.strip()}
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="kerasfix-bench-"))
    bench = Bench(args, work)
    print(f"kerasfix benchmark, {info['date']}, {info['nproc']} x {info['cpu']}, work dir {work}", file=sys.stderr)
    try:
        if "keras" in chosen and (corpus := bench.copy_package("keras")):
            bench.check_runs(corpus, prefilter_off=True)
            bench.floors(corpus)
            if not args.no_peers:
                bench.peer_runs(corpus)
        if "tensorflow" in chosen and (corpus := bench.copy_package("tensorflow")):
            bench.check_runs(corpus, prefilter_off=False)
            bench.floors(corpus)
        if "legacy" in chosen:
            bench.legacy_runs(bench.build_legacy(), peers=not args.no_peers)
        if "latency" in chosen:
            bench.latency_runs()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    info["load_at_end"] = list(os.getloadavg())
    table = bench.table()
    print(f"kerasfix benchmark: {info['date']}; {info['nproc']} cores, {info['cpu']}; Python {info['python']}; "
          f"kerasfix {info['kerasfix_commit'][:12]}; libcst {info['versions']['libcst']}")
    print(f"medians of {args.repeats} run(s) unless n says otherwise; wall time, process start to exit; load = highest 1-min load average seen")
    print(table)
    for note in bench.notes:
        print(f"note: {note}")
    document = {
        "machine": info,
        "arguments": {key: str(value) for key, value in vars(args).items()},
        "corpora": {name: {"files": len(c.files), "lines": c.lines, "bytes": c.size} for name, c in bench.corpora.items()},
        "peers": bench.peers,
        "measurements": [dict(asdict(m), median=m.median) for m in bench.measurements],
        "targets": bench.targets(),
        "notes": bench.notes,
        "table": table,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    dated = args.output.parent / f"{info['date'][:19].replace(':', '')}.json"
    if args.output.name == "latest.json":
        dated.write_text(json.dumps(document, indent=2) + "\n")
    print(f"JSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
