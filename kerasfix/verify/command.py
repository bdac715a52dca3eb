"""`kerasfix verify`: migrate each file in memory, slice out model construction, build and compare in the worker."""

from __future__ import annotations

import importlib.util
import sys
import time
from argparse import Namespace
from dataclasses import dataclass, field
from pathlib import Path

from kerasfix.verify.client import Worker, WorkerError, WorkerTimeout
from kerasfix.verify.extract import Slice, extract

EXIT_VERIFIED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TOLERANCE = 1e-5


class VerifyUsageError(Exception):
    """Bad options or a missing installation: exit 2."""


@dataclass
class Options:
    steps: int = 2
    device: str = "auto"
    timeout: float = 120.0
    unsafe_fixes: bool = True
    memory_gb: float = 8.0
    seed: int = 0


@dataclass
class FileReport:
    file: str
    models: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    time: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(model_ok(m) for m in self.models)


def model_ok(record: dict) -> bool:
    diff = record.get("max_output_diff")
    return bool(
        record.get("error") is None and record.get("built") and record.get("shapes_match") and record.get("params_match")
        and diff is not None and diff <= TOLERANCE and record.get("trained")
    )


@dataclass
class Prepared:
    name: str
    original_text: str
    migrated_text: str
    original: Slice
    migrated: Slice
    static: list[dict] | None
    notes: list[str]


def _settings(paths: list[Path], unsafe_fixes: bool):
    from kerasfix.commands import prepare

    args = Namespace(paths=paths, isolated=False, config=None, select=None, extend_select=None, ignore=None,
                     target=None, unsafe_fixes=unsafe_fixes)
    return prepare(args)


def prepare_file(path: Path, name: str, settings, config, migrated_text: str | None = None) -> Prepared | FileReport:
    """Migrate in memory (the file is never written) and slice both versions; a FileReport when that fails."""
    from kerasfix.runner import migrate_file
    from kerasfix.source import SourceError, read_source

    try:
        source = read_source(path)
    except SourceError as error:
        return FileReport(name, errors=[_file_error(f"cannot read the file: {error}")])
    notes: list[str] = []
    if migrated_text is None:
        result = migrate_file(path, name, settings, config, write=False)
        if result.error is not None:
            return FileReport(name, errors=[_file_error(result.error.message, result.error.row)])
        migrated_text = result.new_text if result.new_text is not None else source.text
        if result.findings:
            remaining = sorted({f.code for f in result.findings})
            notes.append(f"migration left {len(result.findings)} finding(s) unfixed: {', '.join(remaining)}")
    try:
        original = extract(source.text)
        migrated = extract(migrated_text)
    except Exception as error:  # noqa: BLE001 - a file kerasfix cannot slice is reported, not fatal
        return FileReport(name, errors=[_file_error(f"cannot read the program's structure: {type(error).__name__}: {error}")])
    static = None
    try:
        from kerasfix.summary import summarise_source

        static = summarise_source(migrated_text)
    except Exception as error:  # noqa: BLE001 - the static summary is a cross-check, not a requirement
        notes.append(f"static summary unavailable: {type(error).__name__}: {error}")
    return Prepared(name, source.text, migrated_text, original, migrated, static, notes)


def _file_error(message: str, line: int | None = None, kind: str = "Error") -> dict:
    return {"type": kind, "message": message, "line": line, "source": None, "side": "kerasfix"}


def _job(prepared: Prepared, path: Path, options: Options) -> dict:
    def side(slice_: Slice, text: str) -> dict:
        return {**slice_.to_json(), "text": text, "file": prepared.name, "path": str(path.resolve())}

    return {"op": "verify", "file": prepared.name, "original": side(prepared.original, prepared.original_text),
            "migrated": side(prepared.migrated, prepared.migrated_text), "steps": options.steps, "seed": options.seed}


class Verifier:
    """Verifies files one at a time through one worker (internal API; tests use it with injected texts)."""

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.worker = Worker(self.options.device, self.options.memory_gb)
        self.info: dict = {}

    def start(self) -> dict:
        info = self.worker.ensure()
        if info.get("error"):
            self.worker.close()
            raise VerifyUsageError(info["error"])
        self.info = info
        return info

    def close(self) -> None:
        self.worker.close()

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def verify(self, path: Path, name: str | None = None, migrated_text: str | None = None, settings=None, config=None,
               on_progress=None) -> FileReport:
        started = time.perf_counter()
        name = name or str(path)
        if settings is None or config is None:
            config, settings, _ = _settings([path], self.options.unsafe_fixes)
        prepared = prepare_file(path, name, settings, config, migrated_text)
        if isinstance(prepared, FileReport):
            return prepared
        report = FileReport(name, notes=list(prepared.notes))
        try:
            self.start()
            result = self.worker.run(_job(prepared, path, self.options), self.options.timeout, on_progress)
        except WorkerTimeout as error:
            failure = _file_error(str(error), error.line, "Timeout") | {"side": error.side or "worker"}
            text = prepared.migrated_text if error.side == "migrated" else prepared.original_text
            lines = text.splitlines()
            if error.line and 0 < error.line <= len(lines):
                failure["source"] = lines[error.line - 1].strip()
            self._fail_all(report, prepared, failure)
            report.time = time.perf_counter() - started
            return report
        except WorkerError as error:
            self._fail_all(report, prepared, _file_error(str(error), None, "WorkerCrashed") | {"side": "worker"})
            report.time = time.perf_counter() - started
            return report
        device = self.info.get("device", "?")
        for record in result.get("models", []):
            record["file"] = name
            record["device"] = device
            record["line"] = prepared.original.sites.get(record["name"]) or prepared.migrated.sites.get(record["name"])
            _static(record, prepared.static)
            report.models.append(record)
        report.errors.extend(result.get("errors", []))
        if not report.models and not report.errors:
            report.notes.append("no model found: nothing at module level or in a zero-argument function builds one")
        report.time = time.perf_counter() - started
        return report

    def _fail_all(self, report: FileReport, prepared: Prepared, error: dict) -> None:
        sites = {**prepared.migrated.sites, **prepared.original.sites}
        if not sites:
            report.errors.append(error)
            return
        for name, line in sites.items():
            report.models.append({"file": report.file, "name": name, "line": line, "built": False, "shapes_match": None,
                                  "params_match": None, "max_output_diff": None, "trained": False, "loss": [],
                                  "device": self.info.get("device", "?"), "error": error, "notes": [], "differences": []})


# ---------------------------------------------------------------------------------------------
# the static summary as a third opinion


def _static(record: dict, static: list[dict] | None) -> None:
    if not record.get("built"):
        record["static"] = {"status": "-"}
        return
    if static is None:
        record["static"] = {"status": "unavailable"}
        return
    match = next((m for m in static if m.get("name") == record["name"]), None)
    if match is None:
        record["static"] = {"status": "missing"}
        return
    differences: list[str] = []
    unknown = not match.get("complete", True)
    runtime_layers = [l for l in record.get("top_layers", []) if l["type"] != "InputLayer"]
    static_layers = [l for l in match.get("layers", []) if l.get("type") != "InputLayer"]
    if runtime_layers and len(runtime_layers) != len(static_layers):
        differences.append(f"{len(static_layers)} layers statically, {len(runtime_layers)} at run time")
    static_names = [l.get("name") for l in static_layers]
    runtime_names = [l["name"] for l in runtime_layers]
    if static_names != runtime_names and sorted(map(str, static_names)) == sorted(runtime_names):
        # Same layers, listed in another order: compare each with its namesake, and say so once.
        differences.append("the static summary lists the layers in a different order than Keras")
        by_name = {l.get("name"): l for l in static_layers}
        static_layers = [by_name[name] for name in runtime_names]
    for index, (s, r) in enumerate(zip(static_layers, runtime_layers), start=1):
        if s.get("type") != r["type"]:
            differences.append(f"layer {index}: {s.get('type')} statically, {r['type']} at run time")
        if s.get("output_shape") is None or s.get("params") is None:
            unknown = True
        elif not _shape_agrees(s["output_shape"], r["output_shape"]):
            differences.append(f"layer {index} ({r['type']}): output {s['output_shape']} statically, {r['output_shape']} at run time")
        if s.get("params") is not None and r["params"] is not None and s["params"] != r["params"]:
            differences.append(f"layer {index} ({r['type']}): {s['params']} parameters statically, {r['params']} at run time")
    total = match.get("total_params")
    runtime_total = (record.get("params") or {}).get("migrated")
    if total is not None and runtime_total is not None and total != runtime_total:
        differences.append(f"{total} parameters statically, {runtime_total} at run time")
    status = "differs" if differences else ("incomplete" if unknown or total is None else "match")
    record["static"] = {"status": status, "total_params": total, "differences": differences}


def _shape_agrees(static, runtime) -> bool:
    if runtime is None:
        return True
    if static and isinstance(static[0], list):
        return isinstance(runtime[0], list) and len(static) == len(runtime) and all(_shape_agrees(a, b) for a, b in zip(static, runtime))
    if len(static) != len(runtime):
        return False
    return all(a is None or a == b for a, b in zip(static, runtime))


# ---------------------------------------------------------------------------------------------
# the command


def verify(args: Namespace) -> int:
    from kerasfix.reporters import relative_name
    from kerasfix.verify import report

    if importlib.util.find_spec("tensorflow") is None:
        print("kerasfix: error: `kerasfix verify` needs TensorFlow: pip install 'kerasfix[verify]' (or 'kerasfix[gpu]')", file=sys.stderr)
        return EXIT_USAGE
    if args.steps < 1:
        print("kerasfix: error: --steps must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0:
        print("kerasfix: error: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    options = Options(steps=args.steps, device=args.device, timeout=args.timeout, unsafe_fixes=args.unsafe_fixes,
                      memory_gb=args.memory_limit)
    config, settings, files = _settings(list(args.paths or [Path(".")]), options.unsafe_fixes)
    if not files:
        print("kerasfix: error: no Python files to verify", file=sys.stderr)
        return EXIT_USAGE
    reports: list[FileReport] = []
    verifier = Verifier(options)
    try:
        with report.progress(len(files)) as bar:
            bar.status("starting TensorFlow")
            try:
                verifier.start()
            except VerifyUsageError as error:
                bar.stop()
                print(f"kerasfix: error: {error}", file=sys.stderr)
                return EXIT_USAGE
            except WorkerError as error:
                bar.stop()
                print(f"kerasfix: error: {error}", file=sys.stderr)
                return EXIT_USAGE
            for path in files:
                name = relative_name(path)
                bar.file(name)
                reports.append(verifier.verify(path, name, settings=settings, config=config,
                                               on_progress=lambda message, n=name: bar.at(n, message)))
                bar.advance()
    finally:
        verifier.close()
    if args.format == "json":
        report.write_json(sys.stdout, reports, verifier.info)
    else:
        report.write_text(reports, verifier.info)
    return EXIT_VERIFIED if all(r.ok for r in reports) else EXIT_FAILED
