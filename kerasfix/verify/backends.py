"""`verify --backend` and `--oracle`, from the parent: which builds a file gets, one worker process per build
(JAX, PyTorch, the real Keras 2 from tf-keras), and their results merged into each model's record. Imports no
backend: whether one is installed is asked of the import system without loading it."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Callable

from kerasfix.verify.client import Worker, WorkerError, WorkerTimeout
from kerasfix.verify.results import not_built

BACKENDS = ("tensorflow", "jax", "torch")
REFERENCE = "tensorflow"  # the build the original is compared with, whose weights and batch the others get
ORACLES = ("auto", "compat", "tf-keras")
# How to add a backend to a clone of kerasfix (it is installed from its repository, not from a registry).
INSTALL = {"tensorflow": "pip install -e '.[verify]'", "jax": "pip install -e '.[jax]'", "torch": "pip install -e '.[torch]'"}
NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
# Findings that mark code tf-keras cannot run: the Keras 1 API (merge, Model(input=), Keras 1 layer, optimizer and
# fit arguments, `image_dim_ordering`) and Keras 1/2.0 module paths. A program with any of them keeps the
# compatibility layer as its oracle.
KERAS1_CODES = frozenset({
    "KF101", "KF102", "KF201", "KF303", "KF310", "KF311", "KF312", "KF313", "KF314", "KF315", "KF316", "KF317",
    "KF318", "KF319", "KF320", "KF321", "KF324", "KF325", "KF326", "KF330", "KF331", "KF332", "KF333", "KF334",
    "KF336", "KF350", "KF352", "KF356", "KF363", "KF370", "KF371", "KF378",
})


class BuildsUnavailable(Exception):
    """A backend or oracle was asked for that is not installed: a usage error."""


def parse_backends(text: str) -> tuple[str, ...]:
    """`--backend tensorflow,jax,torch` as a tuple, TensorFlow first (it is always built: the reference)."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise BuildsUnavailable(f"--backend {text!r}: choose from {', '.join(BACKENDS)} (comma-separated)")
    return tuple(dict.fromkeys([REFERENCE, *names]))


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def tf_keras_install() -> str:
    """The command that installs the tf-keras release matching the TensorFlow installed (without the `tensorflow`
    package it asks for, which would replace tensorflow-cpu's files with its own)."""
    for distribution in ("tensorflow-cpu", "tensorflow"):
        try:
            major, minor = importlib.metadata.version(distribution).split(".")[:2]
        except (importlib.metadata.PackageNotFoundError, ValueError):
            continue
        return f"pip install --no-deps 'tf-keras=={major}.{minor}.*'"
    return "pip install tf-keras"


def check_installed(backends: tuple[str, ...], oracle: str) -> None:
    """BuildsUnavailable naming what to install for the first backend (or the oracle) that is missing."""
    for backend in backends:
        if not _installed(backend):
            raise BuildsUnavailable(f"--backend {backend}: {NAMES[backend]} is not installed; in your clone of kerasfix "
                                    f"run {INSTALL[backend]} (CPU wheels)")
    if oracle not in ORACLES:
        raise BuildsUnavailable(f"--oracle {oracle!r}: choose from {', '.join(ORACLES)}")
    if oracle == "tf-keras" and not _installed("tf_keras"):
        raise BuildsUnavailable(f"--oracle tf-keras: tf-keras (the real Keras 2) is not installed; run {tf_keras_install()}")


def keras1_codes(text: str) -> list[str]:
    """The Keras 1 findings of a program (their codes), whatever rules the configuration enables."""
    from kerasfix.engine import ParseFailure, analyse_text
    from kerasfix.settings import Settings
    from kerasfix.source import Source

    source = Source(Path("<original>"), text, text.encode("utf-8", "surrogatepass"))
    try:
        findings = analyse_text(source, text, Settings(KERAS1_CODES))
    except ParseFailure:
        return []
    return sorted({finding.code for finding in findings})


@functools.lru_cache(maxsize=4096)
def _uses_keras1(text: str) -> bool:
    return bool(keras1_codes(text))


def choose_oracle(requested: str, text: str, modules: tuple[str, ...] = ()) -> tuple[str, str | None]:
    """`compat` or `tf-keras` for one program (its own text, and the `modules` of its package and `--path` roots it
    runs with), and a note saying why when a Keras 2 program keeps the compat layer."""
    if requested == "compat":
        return "compat", None
    codes = keras1_codes(text)
    if codes or any(_uses_keras1(module) for module in modules):
        return "compat", None  # Keras 1 code: the compatibility layer is the only oracle that runs it
    if not _installed("tf_keras"):
        return "compat", f"the original ran on the compatibility layer: tf-keras, the real Keras 2, is not installed ({tf_keras_install()})"
    return "tf-keras", None


_LACKING = re.compile(r"cannot import name '([\w.]+)' from '(?:tf_keras|keras)[\w.]*'|module '(?:tf_keras|keras)[\w.]*' has no attribute '(\w+)'")


def _lacking_in_tf_keras(compared: dict) -> str | None:
    """`cannot import name 'ops' from 'tf_keras'`, when every model of the original stopped at such an import."""
    messages = [(m.get("error") or {}).get("message", "") for m in compared.get("models", [])]
    messages += [(e or {}).get("message", "") if isinstance(e, dict) else str(e) for e in compared.get("errors", [])]
    found = [match for match in map(_LACKING.search, messages) if match]
    built = [m for m in compared.get("models", []) if not m.get("error")]
    if not found or built:
        return None
    return found[0].group(0)


def _entry(record: dict) -> dict:
    """A build's part of a model's record, as `backends` shows it."""
    return {key: record.get(key) for key in ("built", "max_output_diff", "trained", "loss", "error")} | {
        "differences": record.get("differences", [])}


def _failed_entry(error: dict) -> dict:
    return {"built": False, "max_output_diff": None, "trained": False, "loss": [], "error": error, "differences": []}


def _merge(built: dict | None, compared: dict | None, name: str) -> dict:
    """One model's record from the TensorFlow build of the migrated program and the tf-keras build of the original."""
    built = built or {"built": False, "trained": False, "loss": [], "notes": [], "differences": [],
                      "error": {"type": "Missing", "message": f"the migrated program has no model named {name!r}",
                                "line": None, "source": None, "side": "migrated"}}
    compared = compared or {"built": False, "notes": [], "differences": [],
                            "error": {"type": "Missing", "message": f"the original program has no model named {name!r}",
                                      "line": None, "source": None, "side": "original"}}
    reference = built.get("reference") or {}
    record = {"name": name, "built": bool(built["built"] and compared["built"]), "shapes_match": compared.get("shapes_match"),
              "params_match": compared.get("params_match"), "max_output_diff": compared.get("max_output_diff"),
              "trained": built["trained"], "loss": built["loss"], "error": built["error"] or compared["error"],
              "notes": compared["notes"] + built["notes"], "differences": compared["differences"] + built["differences"],
              "time": built.get("time")}
    for key in ("layers", "params"):
        if compared.get(key) is not None:
            record[key] = compared[key]
    if reference:
        record["top_layers"] = reference["top_layers"]
    if not compared["built"] and not built["built"] and compared["error"] is not None and built["error"] is not None:
        record["original_error"], record["migrated_error"] = compared["error"], built["error"]  # when both failed
    skip = (compared["error"] or {}).get("skip")  # the original stopped for a reason outside kerasfix
    if skip and (built["built"] or (built["error"] or {}).get("skip")):
        record["skip"] = skip
    elif (built["error"] or {}).get("type") == "NotBuilt" and compared.get("unbuilt"):
        record["skip"] = not_built(None)
    record["backends"] = {REFERENCE: _entry(built) | {"max_output_diff": None}}
    return record


class Builds:
    """The workers beyond the main one: one per extra backend, and the tf-keras oracle's, each started when first
    needed and reused across files (internal API: `command.Verifier` owns one)."""

    def __init__(self, options, readable: list[str]) -> None:
        self.options = options
        self.readable = readable  # the main worker's list: the same directories are readable in every sandbox
        self.workers: dict[str, Worker] = {}
        self.info: dict[str, dict] = {}

    @property
    def extra(self) -> list[str]:
        return [backend for backend in self.options.backends if backend != REFERENCE]

    def worker(self, key: str) -> Worker:
        """The worker of an extra backend, or of the oracle (`tf-keras`)."""
        if key not in self.workers:
            o = self.options
            worker = Worker(o.device, o.memory_gb, o.sandbox, o.timeout, o.sandbox_tools,
                            backend=REFERENCE if key == "tf-keras" else key, legacy_keras=key == "tf-keras")
            worker.readable = self.readable
            self.workers[key] = worker
        return self.workers[key]

    def start(self) -> None:
        """Start the extra backends' workers (WorkerError when one cannot start); the oracle's starts with the first
        Keras 2 program."""
        for key in self.extra:
            self._start(key)

    def _start(self, key: str) -> dict:
        info = self.worker(key).ensure()
        if info.get("error"):
            raise WorkerError(f"the {key} worker cannot start: {info['error']}")
        self.info[key] = info
        return info

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()

    def run(self, main: Worker, job: dict, original_text: str, on_progress: Callable | None = None,
            modules: tuple[str, ...] = ()) -> dict:
        """The file's result, as `runtime.verify_file` gives it, with each model's oracle and `backends`
        (`modules`: the original text of the other modules the program runs with, its package's and `--path`'s)."""
        timeout = self.options.timeout
        oracle, note = choose_oracle(self.options.oracle, original_text, modules)
        references: dict[str, dict] = {}
        if oracle == "tf-keras":
            result, references, missing = self._with_tf_keras(main, job, timeout, on_progress)
            if missing is not None and self.options.oracle == "auto":
                # tf-keras lacks what the program imports (Keras 3's `ops`, standalone Keras 2's `CuDNNGRU`):
                # the real Keras 2 cannot be its oracle, the compatibility layer can
                oracle = "compat"
                note = (f"the original ran on the compatibility layer: tf-keras, the real Keras 2, cannot build it "
                        f"({missing})")
            else:
                version = self.info.get("tf-keras", {}).get("tf_keras", "?")
                note = f"the original was built with tf-keras {version} (the real Keras 2), the migrated program with Keras 3"
        if oracle == "compat":
            result = main.run(job, timeout, on_progress)
            if self.extra:
                reference = main.run(dict(job, op="build", train=False, references=None), timeout, on_progress)
                references = {m["name"]: m["reference"] for m in reference["models"] if m.get("reference")}
        for record in result["models"]:
            record["oracle"] = oracle
            record.setdefault("backends", {REFERENCE: _entry(record) | {"max_output_diff": None}})
        for key in self.extra:
            self._cross(key, job, references, result["models"])
        if note:
            result["notes"] = [*result.get("notes", []), note]
        return result

    def _with_tf_keras(self, main: Worker, job: dict, timeout, on_progress) -> tuple[dict, dict, str | None]:
        """The migrated build on TensorFlow compared with the original built by tf-keras; and, when the original
        stopped at an import tf-keras cannot satisfy, what it lacks (else None)."""
        built = main.run(dict(job, op="build", train=True, references=None), timeout, on_progress)
        references = {m["name"]: m["reference"] for m in built["models"] if m.get("reference")}
        self._start("tf-keras")
        compared = self.worker("tf-keras").run(dict(job, op="oracle", references=references), timeout, on_progress)
        by_name = {m["name"]: m for m in built["models"]}
        others = {m["name"]: m for m in compared["models"]}
        result = {"models": [_merge(by_name.get(name), others.get(name), name) for name in dict.fromkeys([*by_name, *others])],
                  "errors": built["errors"] + compared["errors"],
                  "notes": list(dict.fromkeys([*compared.get("notes", []), *built.get("notes", [])]))}
        return result, references, _lacking_in_tf_keras(compared)

    def _cross(self, key: str, job: dict, references: dict[str, dict], records: list[dict]) -> None:
        """Build the migrated program on another backend with the reference's weights; compare, train."""
        try:
            self._start(key)
            result = self.worker(key).run(dict(job, op="build", train=True, references=references), self.options.timeout)
        except WorkerError as error:
            kind = "Timeout" if isinstance(error, WorkerTimeout) else "WorkerCrashed"
            failure = {"type": kind, "message": f"{key}: {error}", "line": error.line if isinstance(error, WorkerTimeout) else None,
                       "source": None, "side": "migrated"}
            for record in records:
                record["backends"][key] = _failed_entry(failure)
            return
        found = {m["name"]: m for m in result["models"]}
        for record in records:
            other = found.get(record["name"])
            record["backends"][key] = _entry(other) if other else _failed_entry(
                {"type": "Missing", "message": f"{key}: no model named {record['name']!r} was built",
                 "line": None, "source": None, "side": "migrated"})
