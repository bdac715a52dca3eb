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
    paths: tuple[Path, ...] = ()  # `--path DIR`: source roots whose packages the programs import, migrated alike


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
SOURCE_FILE_LIMIT = 2000  # modules taken from `--path` roots for one file, at most


def package_root(path: Path) -> Path | None:
    """The top directory of the package `path` belongs to (the highest of its parents with an `__init__.py`)."""
    root = None
    folder = path.resolve().parent
    while (folder / "__init__.py").is_file():
        root, folder = folder, folder.parent
    return root


def _package_modules(root: Path) -> list[Path]:
    """The modules of the package whose top folder is `root`: each `.py` file reached through folders that all
    hold an `__init__.py`."""
    return sorted(p for p in root.rglob("*.py")
                  if all((parent / "__init__.py").is_file() for parent in p.parents if parent.is_relative_to(root)))


def source_roots(roots: tuple[Path, ...]) -> dict[str, tuple[Path, list[Path]]]:
    """What `--path DIR` roots offer to import: top-level name -> (the root, its modules), the packages (folders
    with an `__init__.py`) and the plain modules directly in each root; an earlier root wins, as on sys.path."""
    found: dict[str, tuple[Path, list[Path]]] = {}
    for root in roots:
        root = root.resolve()
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            if entry.is_dir() and (entry / "__init__.py").is_file() and entry.name.isidentifier():
                found.setdefault(entry.name, (root, _package_modules(entry)))
            elif entry.is_file() and entry.suffix == ".py" and entry.stem.isidentifier():
                found.setdefault(entry.stem, (root, [entry]))
    return found


def imported_tops(text: str) -> set[str]:
    """The top-level module names a program imports: `import a.b`, `from a.b import c`, and the constant names
    given to `__import__(...)` and `importlib.import_module(...)`. Empty when the text does not parse."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                tops.add(node.args[0].value.split(".")[0])
    return tops


def _module_path(name: str, files: dict[str, str]) -> str | None:
    """The tree's file of a dotted module name (`a/b.py` or `a/b/__init__.py`), or None."""
    base = name.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if candidate in files:
            return candidate
    return None


def reachable_modules(text: str, package: str | None, files: dict[str, str]) -> list[str]:
    """The files of `files` (a package tree: relative path -> source) that a program importing as `text` does (in
    `package`, for its relative imports) runs, through its imports and theirs, with the packages above each."""
    import ast

    found: list[str] = []
    pending: list[tuple[str, str | None]] = [(text, package)]
    while pending:
        source, where = pending.pop()
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        names: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = (where or "").split(".") if where else []
                    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                if base:
                    names.append(base)
                    names += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                callee = node.func
                if (callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else "") in ("__import__", "import_module"):
                    names.append(node.args[0].value)
        for name in names:
            parts = name.split(".")
            for end in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                module = ".".join(parts[:end])
                relative = _module_path(module, files)
                if relative is not None and relative not in found:
                    found.append(relative)
                    is_package = relative.endswith("/__init__.py")
                    pending.append((files[relative], module if is_package else module.rpartition(".")[0] or None))
    return found


# Each module's migration, kept for the files of one run (the settings and configuration it was made with):
# the modules of a package, or of a `--path` root, are migrated once however many of its files are verified.
_MIGRATIONS: dict = {"kept": None, "modules": {}}


def _migrate_module(file: Path, relative: str, settings, config) -> tuple[str, str, bool] | None:
    """(original text, migrated text, whether the migration failed) of one module, or None when it cannot be read."""
    from kerasfix.runner import migrate_file
    from kerasfix.source import SourceError, read_source

    kept = _MIGRATIONS["kept"]
    if kept is None or kept[0] is not settings or kept[1] is not config:
        _MIGRATIONS.update(kept=(settings, config), modules={})
    try:
        stat = file.stat()
    except OSError:
        return None
    key = (str(file.resolve()), relative, stat.st_mtime_ns, stat.st_size)
    if key in _MIGRATIONS["modules"]:
        return _MIGRATIONS["modules"][key]
    try:
        original = read_source(file).text
    except SourceError:
        return None
    result = migrate_file(file, relative, settings, config, write=False)
    failed = result.error is not None
    migrated = original if failed or result.new_text is None else result.new_text
    _MIGRATIONS["modules"][key] = (original, migrated, failed)
    return _MIGRATIONS["modules"][key]


def package_tree(path: Path, settings, config, notes: list[str], roots: tuple[Path, ...] = (),
                 calls: tuple[str, ...] = ()) -> dict | None:
    """The file's whole package, each module migrated in memory like the file itself, for the worker to write into
    the job directory and import from there: relative (`from . import x`) and absolute intra-package imports then
    work. With `roots` (`--path DIR`), also the packages and modules of those source roots that the file, its
    package or the builder `calls` import (and what those import in turn), migrated alike. Nothing is written
    outside the job directory; None when the file is not inside a package and imports nothing from the roots."""
    root = package_root(path)
    original: dict[str, str] = {}
    migrated: dict[str, str] = {}
    unmigrated: list[str] = []
    tops: list[str] = []

    def take(file: Path, base: Path) -> None:
        relative = file.relative_to(base).as_posix()
        texts = _migrate_module(file, relative, settings, config)
        if texts is None:
            return
        original[relative], migrated[relative], failed = texts
        if failed:
            unmigrated.append(relative)

    module: tuple[str, ...] = ()
    if root is not None:
        files = _package_modules(root)
        if len(files) > PACKAGE_FILE_LIMIT:
            notes.append(f"the package {root.name} has more than {PACKAGE_FILE_LIMIT} modules: the file runs on its own")
            root = None
        else:
            for file in files:
                take(file, root.parent)
            tops.append(root.name)
            module = path.resolve().relative_to(root.parent).with_suffix("").parts
            if module[-1] == "__init__":
                module = module[:-1]
            notes.append(f"run as module {'.'.join(module)} of its package ({len(files)} module(s) migrated alike)")
    offered = source_roots(roots)
    if offered:
        try:
            own = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            own = ""
        wanted = imported_tops(own).union(*(imported_tops(text) for text in original.values()), *(imported_tops(call) for call in calls))
        taken: list[str] = []
        count = 0
        while True:
            new = sorted(name for name in wanted if name in offered and name not in tops and name not in taken)
            if not new:
                break
            for name in new:
                base, files = offered[name]
                if count + len(files) > SOURCE_FILE_LIMIT:
                    notes.append(f"--path: {name} left out, more than {SOURCE_FILE_LIMIT} modules in all")
                    taken.append(name)
                    continue
                count += len(files)
                before = set(original)
                for file in files:
                    take(file, base)
                taken.append(name)
                wanted |= set().union(*(imported_tops(original[relative]) for relative in set(original) - before))
        tops.extend(taken)
        if taken:
            notes.append(f"importable from --path, migrated alike: {', '.join(taken)} ({count} module(s))")
    if not tops:
        return None
    if unmigrated:
        notes.append(f"{len(unmigrated)} module(s) of the package could not be migrated and run unchanged: {', '.join(unmigrated[:5])}")
    if root is None:
        return {"module": None, "package": None, "top": None, "tops": tops, "original": original, "migrated": migrated}
    package = ".".join(module[:-1]) if path.name != "__init__.py" else ".".join(module)
    return {"module": ".".join(module), "package": package, "top": root.name, "tops": tops, "original": original, "migrated": migrated}


def _settings(paths: list[Path], unsafe_fixes: bool):
    from kerasfix.commands import prepare

    args = Namespace(paths=paths, isolated=False, config=None, select=None, extend_select=None, ignore=None,
                     target=None, unsafe_fixes=unsafe_fixes)
    return prepare(args)


def prepare_file(path: Path, name: str, settings, config, migrated_text: str | None = None,
                 calls: tuple[str, ...] = (), roots: tuple[Path, ...] = ()) -> Prepared | FileReport:
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
        made = {name for name in migrated.sites if name.isidentifier() and name not in original.sites}
        if made:  # models the migration made of something else (a K.function, KF375): the original's too, to compare
            original = extract(source.text, calls, also=made)
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
        package = package_tree(path, settings, config, notes, roots, tuple(original.calls))
    except Exception as error:  # noqa: BLE001 - the file still runs on its own
        notes.append(f"its package could not be prepared ({type(error).__name__}: {error}): the file runs on its own")
    return Prepared(name, source.text, migrated_text, original, migrated, static, notes, package)


def _file_error(message: str, line: int | None = None, kind: str = "Error") -> dict:
    return {"type": kind, "message": message, "line": line, "source": None, "side": "kerasfix"}


CALL_PREFIX = "_kerasfix_call_"  # the zero-argument function that makes builder call N: `_kerasfix_call_N`


ORIGINAL_PREFIXES = ("the original does not build under tf-keras (Keras 2): ",
                     "the original does not build under the Keras 1/2 compatibility layer: ")


def _message(error: dict) -> str:
    """An error's message without the words that say which oracle built the original."""
    message = str(error.get("message", ""))
    for prefix in ORIGINAL_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _gist(message: str) -> str:
    """What an error says, for a line of the report: a TensorFlow error that quotes the user's code (`in user
    code: File ..., line ...`) ends with the exception that stopped it, which is what a reader needs."""
    if "in user code:" not in message:
        return message
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    told = [line for line in lines if not line.startswith(("File ", "in user code:", "Exception encountered"))]
    return told[-1] if told else message


def _fails_alike(record: dict) -> bool:
    """Neither program built the model, and both stopped with the same error (type and message), not a skip."""
    original, migrated = record.get("original_error"), record.get("migrated_error")
    if record.get("built") or record.get("skip") or original is None or migrated is None or original.get("skip"):
        return False
    return original.get("type") == migrated.get("type") and _message(original) == _message(migrated)


def _fails_at_the_same_statement(record: dict) -> bool:
    """Neither program built the model, and both stopped with the same exception type at the same statement (its
    text), not a skip: tf-keras and Keras 3 word many messages differently (`Received: (7, 7)`, `Received
    kernel_size=(7, 7)`), so the messages are not compared."""
    original, migrated = record.get("original_error"), record.get("migrated_error")
    if record.get("built") or record.get("skip") or original is None or migrated is None or original.get("skip"):
        return False
    source = original.get("source")
    return bool(source) and source == migrated.get("source") and original.get("type") == migrated.get("type")


def _call_name(name: str, calls: list[str]) -> str:
    """The builder call a model name stands for (`_kerasfix_call_0()[1]` -> `build(3)[1]`)."""
    if name.startswith(CALL_PREFIX):
        index, _, rest = name[len(CALL_PREFIX):].partition("()")
        if index.isdigit() and int(index) < len(calls):
            return calls[int(index)] + rest
    return name


def _names(expression: str) -> list[str]:
    """The names an expression reads: a builder call fails, with its cause, when what it calls could not be
    defined (an import the program's module stopped at, say)."""
    import ast

    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return []
    return sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)})


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
            if package["module"] is not None:
                files[path.resolve().relative_to(package_root(path).parent).as_posix()] = text
            tree = {"package": package["package"], "top": package["top"], "tops": package["tops"], "files": files}
            first.append({"line": 1, "code": f"__package__ = __import__('kerasfix.verify.runtime', fromlist=['install_package'])"
                                             f".install_package({tree!r}, {which!r}, __builtins__)",
                          "defines": ["__package__"], "uses": [], "kind": "import", "optional": False})
        last = [{"line": data["sites"].get(call, 1), "code": f"def {CALL_PREFIX}{index}():\n    return {call}\n",
                 "defines": [f"{CALL_PREFIX}{index}"], "uses": _names(call), "kind": "def", "optional": False}
                for index, call in enumerate(data.pop("calls", []))]
        for index, call in enumerate(slice_.calls):
            data["sites"][f"{CALL_PREFIX}{index}()"] = data["sites"].pop(call)
        # a builder --call says how to call is not also called with no arguments
        given = {call.split("(", 1)[0].strip() for call in slice_.calls if call in options.calls}
        data["functions"] = [*(f for f in data["functions"] if f not in given), *(f"{CALL_PREFIX}{index}" for index in range(len(last)))]
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
        prepared = prepare_file(path, name, settings, config, migrated_text, self.options.calls, self.options.paths)
        if isinstance(prepared, FileReport):
            return prepared
        report = FileReport(name, notes=list(prepared.notes))
        try:
            self.start()
            try:
                modules = ()
                if prepared.package is not None:  # the modules the program runs: they too decide which oracle runs it
                    files = prepared.package["original"]
                    calls = "\n".join(prepared.original.calls)
                    within = prepared.package["package"]
                    start = (f"import {within}\n" if within else "") + prepared.original_text + "\n" + calls
                    runs = reachable_modules(start, within, files)
                    modules = tuple(files[relative] for relative in runs)
                result = self.builds.run(self.worker, _job(prepared, path, self.options), prepared.original_text, on_progress, modules)
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
        # the calls verify made on its own (a zero-argument builder, a builder given placeholders), not the program
        # or --call: one the original fails alike is not a model to compare, only a call verify could not make
        automatic = {f"{function}()" for function in prepared.original.functions}
        automatic |= {f"{CALL_PREFIX}{index}()" for index, call in enumerate(prepared.original.calls) if call not in self.options.calls}
        for record in result.get("models", []):
            # (the real Keras 2 is the judge of the original: under the compatibility layer both programs run on
            # Keras 3, where one failure of both may be what neither the layer nor the migration covers)
            keras2 = record.get("oracle") == "tf-keras"
            alike = _fails_alike(record) or (keras2 and _fails_at_the_same_statement(record))
            if alike and keras2 and record["name"] not in automatic:  # a --call or the program's own: it is broken
                error = record["original_error"]
                record["skip"] = {"label": "the original fails", "message": (
                    f"the original program fails too ({error.get('type')}: {_gist(_message(error))[:200]}"
                    f"{', line ' + str(error['line']) if error.get('line') else ''}): there is nothing to compare with")}
            if record["name"] in automatic and alike:
                error = record["original_error"]
                report.notes.append(f"{_call_name(record['name'], prepared.original.calls)} not verified: the original fails "
                                    f"when verify calls it so ({error.get('type')}: {_message(error)[:200]}); "
                                    "--call 'builder(...)' says how to call it")
                continue
            record.pop("original_error", None)
            record.pop("migrated_error", None)
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
                      calls=tuple(getattr(args, "call", None) or ()), paths=tuple(getattr(args, "path", None) or ()))
    if options.data is not None and not options.data.is_dir():
        print(f"kerasfix: error: --data {options.data}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    for root in options.paths:
        if not root.is_dir():
            print(f"kerasfix: error: --path {root}: not a directory", file=sys.stderr)
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
