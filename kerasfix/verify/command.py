"""`kerasfix verify`: migrate each file in memory, slice out model construction, build and compare in the worker."""

from __future__ import annotations

import importlib.util
import sys
import time
from argparse import Namespace
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kerasfix.verify.backends import Builds, BuildsUnavailable, check_installed, parse_backends
from kerasfix.verify.client import Worker, WorkerError, WorkerOutOfStep, WorkerTimeout
from kerasfix.verify.extract import Slice, extract
from kerasfix.verify.isolation import TOOLS, SandboxUnavailable
from kerasfix.verify.results import FileReport, settle

EXIT_VERIFIED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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
    sandbox: str = "auto"  # auto | os | python
    sandbox_tools: tuple[str, ...] = TOOLS  # the OS sandboxes to try, in order
    program_args: list[str] | None = None  # `verify FILE -- ARGS...`; None: placeholders for required arguments
    data: Path | None = None  # `--data DIR`: where missing data files are looked for
    strict: bool = False  # a skip counts as a failure
    backends: tuple[str, ...] = ("tensorflow",)  # `--backend`: where the migrated program is built, TensorFlow first
    oracle: str = "auto"  # `--oracle`: what builds the original (auto: tf-keras for Keras 2 code when installed)
    calls: tuple[str, ...] = ()  # `--call 'build(input_shape=(32, 32, 3))'`: how to call builders that need arguments


@dataclass
class Prepared:
    name: str
    original_text: str
    migrated_text: str
    original: Slice
    migrated: Slice
    static: list[dict] | None
    notes: list[str]
    package: dict | None = None  # the file's package tree, migrated alike: see `package_tree`


PACKAGE_FILE_LIMIT = 400  # a package larger than this is not copied into the job (the file runs on its own)


def package_root(path: Path) -> Path | None:
    """The top directory of the package `path` belongs to (the highest of its parents with an `__init__.py`)."""
    root = None
    folder = path.resolve().parent
    while (folder / "__init__.py").is_file():
        root, folder = folder, folder.parent
    return root


def package_tree(path: Path, settings, config, notes: list[str]) -> dict | None:
    """The file's whole package, each module migrated in memory like the file itself, for the worker to write into
    the job directory and import from there: relative (`from . import x`) and absolute intra-package imports then
    work. Nothing is written outside the job directory; None when the file is not inside a package."""
    from kerasfix.runner import migrate_file
    from kerasfix.source import SourceError, read_source

    root = package_root(path)
    if root is None:
        return None
    files = sorted(p for p in root.rglob("*.py") if all((parent / "__init__.py").is_file() for parent in p.parents if parent.is_relative_to(root) and parent != root.parent))
    if len(files) > PACKAGE_FILE_LIMIT:
        notes.append(f"the package {root.name} has more than {PACKAGE_FILE_LIMIT} modules: the file runs on its own")
        return None
    original: dict[str, str] = {}
    migrated: dict[str, str] = {}
    unmigrated: list[str] = []
    for file in files:
        relative = file.relative_to(root.parent).as_posix()
        try:
            original[relative] = read_source(file).text
        except SourceError:
            continue
        result = migrate_file(file, relative, settings, config, write=False)
        if result.error is not None or result.new_text is None:
            if result.error is not None:
                unmigrated.append(relative)
            migrated[relative] = original[relative]
        else:
            migrated[relative] = result.new_text
    module = path.resolve().relative_to(root.parent).with_suffix("").parts
    if module[-1] == "__init__":
        module = module[:-1]
    notes.append(f"run as module {'.'.join(module)} of its package ({len(files)} module(s) migrated alike)")
    if unmigrated:
        notes.append(f"{len(unmigrated)} module(s) of the package could not be migrated and run unchanged: {', '.join(unmigrated[:5])}")
    package = ".".join(module[:-1]) if path.name != "__init__.py" else ".".join(module)
    return {"module": ".".join(module), "package": package, "top": root.name, "original": original, "migrated": migrated}


def _settings(paths: list[Path], unsafe_fixes: bool):
    from kerasfix.commands import prepare

    args = Namespace(paths=paths, isolated=False, config=None, select=None, extend_select=None, ignore=None,
                     target=None, unsafe_fixes=unsafe_fixes)
    return prepare(args)


def prepare_file(path: Path, name: str, settings, config, migrated_text: str | None = None,
                 calls: tuple[str, ...] = ()) -> Prepared | FileReport:
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
        original = extract(source.text, calls)
        migrated = extract(migrated_text, calls)
    except Exception as error:  # noqa: BLE001 - a file kerasfix cannot slice is reported, not fatal
        return FileReport(name, errors=[_file_error(f"cannot read the program's structure: {type(error).__name__}: {error}")])
    guessed = [call for call in original.calls if call not in calls]
    if guessed:
        notes.append("called builder(s) with placeholder arguments (input_shape=(64, 64, 3), classes=10): "
                     + ", ".join(guessed) + "; --call says how to call them instead")
    static = None
    try:
        from kerasfix.summary import summarise_source

        static = summarise_source(migrated_text)
    except Exception as error:  # noqa: BLE001 - the static summary is a cross-check, not a requirement
        notes.append(f"static summary unavailable: {type(error).__name__}: {error}")
    package = None
    try:
        package = package_tree(path, settings, config, notes)
    except Exception as error:  # noqa: BLE001 - the file still runs on its own
        notes.append(f"its package could not be prepared ({type(error).__name__}: {error}): the file runs on its own")
    return Prepared(name, source.text, migrated_text, original, migrated, static, notes, package)


def _file_error(message: str, line: int | None = None, kind: str = "Error") -> dict:
    return {"type": kind, "message": message, "line": line, "source": None, "side": "kerasfix"}


CALL_PREFIX = "_kerasfix_call_"  # the zero-argument function that makes builder call N: `_kerasfix_call_N`


def _call_name(name: str, calls: list[str]) -> str:
    """The builder call a model name stands for (`_kerasfix_call_0()[1]` -> `build(3)[1]`)."""
    if name.startswith(CALL_PREFIX):
        index, _, rest = name[len(CALL_PREFIX):].partition("()")
        if index.isdigit() and int(index) < len(calls):
            return calls[int(index)] + rest
    return name


def _job(prepared: Prepared, path: Path, options: Options) -> dict:
    def side(slice_: Slice, text: str, which: str) -> dict:
        data = {**slice_.to_json(), "text": text, "file": prepared.name, "path": str(path.resolve())}
        # Both are passed as statements of the program, so that every runner (the worker, the tf-keras oracle,
        # the other backends) runs them alike: the package tree is installed first, and each builder call is
        # a zero-argument function the runner calls like the program's own (its model is reported under the call).
        first: list[dict] = []
        if prepared.package is not None:
            package = prepared.package
            files = dict(package[which])
            files[path.resolve().relative_to(package_root(path).parent).as_posix()] = text
            tree = {"package": package["package"], "top": package["top"], "files": files}
            first.append({"line": 1, "code": f"__package__ = __import__('kerasfix.verify.runtime', fromlist=['install_package'])"
                                             f".install_package({tree!r}, {which!r}, __builtins__)",
                          "defines": ["__package__"], "uses": [], "kind": "import", "optional": False})
        last = [{"line": data["sites"].get(call, 1), "code": f"def {CALL_PREFIX}{index}():\n    return {call}\n",
                 "defines": [f"{CALL_PREFIX}{index}"], "uses": [], "kind": "def", "optional": False}
                for index, call in enumerate(data.pop("calls", []))]
        for index, call in enumerate(slice_.calls):
            data["sites"][f"{CALL_PREFIX}{index}()"] = data["sites"].pop(call)
        data["functions"] = [*data["functions"], *(f"{CALL_PREFIX}{index}" for index in range(len(last)))]
        data["units"] = [*first, *data["units"], *last]
        if data.get("whole"):
            data["whole"] = [*first, *data["whole"], *last]
        return data

    return {"op": "verify", "file": prepared.name, "original": side(prepared.original, prepared.original_text, "original"),
            "migrated": side(prepared.migrated, prepared.migrated_text, "migrated"), "steps": options.steps, "seed": options.seed,
            "args": options.program_args, "data": str(options.data.resolve()) if options.data else None}


class Verifier:
    """Verifies files one at a time through one worker (internal API; tests use it with injected texts)."""

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.worker = Worker(self.options.device, self.options.memory_gb, self.options.sandbox, self.options.timeout,
                             self.options.sandbox_tools)
        if self.options.data is not None:
            self.worker.readable.append(str(self.options.data.resolve()))
        self.builds = Builds(self.options, self.worker.readable)  # other backends and the tf-keras oracle
        self.info: dict = {}
        self.last: FileReport | None = None  # the report a late second reply of the worker would belong to

    def prepare_sandbox(self) -> None:
        """Choose how programs are isolated (VerifyUsageError for `--sandbox os` where nothing isolates)."""
        try:
            self.worker.choose_sandbox()
        except SandboxUnavailable as error:
            self.worker.close()
            raise VerifyUsageError(str(error)) from None

    def start(self) -> dict:
        self.prepare_sandbox()
        with ThreadPoolExecutor(max_workers=1) as pool:
            others = pool.submit(self.builds.start)  # the other backends' workers start while TensorFlow's does
            info = self.worker.ensure()
            failure = others.exception()
        if info.get("error"):
            self.close()
            raise VerifyUsageError(info["error"])
        if failure is not None:
            self.close()
            if isinstance(failure, WorkerError):
                raise VerifyUsageError(str(failure)) from None
            raise failure
        self.info = dict(info, backends={key: extra.get(key) for key, extra in self.builds.info.items()})
        return self.info

    @property
    def warning(self) -> str | None:
        """Why the programs run without an operating-system sandbox, when `auto` found none."""
        sandbox = self.worker.sandbox
        return sandbox.warning if sandbox is not None else None

    def close(self) -> None:
        self.worker.close()
        self.builds.close()
        self._blame_stray()

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _blame_stray(self) -> None:
        """A reply that came after a file's result belongs to that file: it fails, whatever it reported."""
        stray, self.worker.stray = self.worker.stray, None
        if stray is not None and self.last is not None:
            self.last.errors.append(_file_error(f"{stray}; the worker was restarted", None, "WorkerOutOfStep") | {"side": "worker"})

    def verify(self, path: Path, name: str | None = None, migrated_text: str | None = None, settings=None, config=None,
               on_progress=None) -> FileReport:
        started = time.perf_counter()
        name = name or str(path)
        if settings is None or config is None:
            config, settings, _ = _settings([path], self.options.unsafe_fixes)
        prepared = prepare_file(path, name, settings, config, migrated_text, self.options.calls)
        if isinstance(prepared, FileReport):
            return prepared
        report = FileReport(name, notes=list(prepared.notes))
        try:
            self.start()
            try:
                result = self.builds.run(self.worker, _job(prepared, path, self.options), prepared.original_text, on_progress)
            finally:
                self._blame_stray()
                self.last = report
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
            kind = "WorkerOutOfStep" if isinstance(error, WorkerOutOfStep) else "WorkerCrashed"
            self._fail_all(report, prepared, _file_error(str(error), None, kind) | {"side": "worker"})
            report.time = time.perf_counter() - started
            return report
        device = self.info.get("device", "?")
        for record in result.get("models", []):
            record["name"] = _call_name(record["name"], prepared.original.calls)
            record["file"] = name
            record["device"] = device
            record["line"] = prepared.original.sites.get(record["name"]) or prepared.migrated.sites.get(record["name"])
            _static(record, prepared.static)
            report.models.append(record)
        report.errors.extend(result.get("errors", []))
        report.notes.extend(result.get("notes", []))
        settle(report)
        if not report.models and not report.errors:
            report.notes.append("no model found: nothing at module level or in a zero-argument function builds one "
                                "(--call 'builder(...)' says how to call a builder that needs arguments)")
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
        print(
            "kerasfix: error: `kerasfix verify` needs TensorFlow, which is not installed: install kerasfix with its "
            "`verify` extra, `pip install '.[verify]'` in a clone of kerasfix (`.[gpu]` for TensorFlow with CUDA)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.steps < 1:
        print("kerasfix: error: --steps must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0:
        print("kerasfix: error: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        backends, oracle = parse_backends(getattr(args, "backend", "tensorflow")), getattr(args, "oracle", "auto")
        check_installed(backends, oracle)
    except BuildsUnavailable as error:
        print(f"kerasfix: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    options = Options(steps=args.steps, device=args.device, timeout=args.timeout, unsafe_fixes=args.unsafe_fixes,
                      memory_gb=args.memory_limit, sandbox=args.sandbox, program_args=getattr(args, "program_args", None),
                      data=getattr(args, "data", None), strict=getattr(args, "strict", False), backends=backends, oracle=oracle,
                      calls=tuple(getattr(args, "call", None) or ()))
    if options.data is not None and not options.data.is_dir():
        print(f"kerasfix: error: --data {options.data}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    config, settings, files = _settings(list(args.paths or [Path(".")]), options.unsafe_fixes)
    if not files:
        print("kerasfix: error: no Python files to verify", file=sys.stderr)
        return EXIT_USAGE
    reports: list[FileReport] = []
    verifier = Verifier(options)
    # the programs' own directories, where the data files next to them are (read-only in the OS sandbox)
    verifier.worker.readable.extend(dict.fromkeys(str(path.resolve().parent) for path in files))
    try:
        with report.progress(len(files)) as bar:
            try:
                bar.status("preparing the sandbox")
                verifier.prepare_sandbox()
                if verifier.warning:
                    bar.warn(f"kerasfix: warning: {verifier.warning}")
                bar.status("starting TensorFlow")
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
        report.write_json(sys.stdout, reports, verifier.info, options.strict)
    else:
        report.write_text(reports, verifier.info, strict=options.strict)
    return EXIT_FAILED if any(r.failed(options.strict) for r in reports) else EXIT_VERIFIED
