"""`kerasfix server`: a language server over stdio (pygls) giving diagnostics as you type, each
finding's fix as a code action, a fix-all source action and `kerasfix explain` on hover, for .py files
and for the code cells of notebooks sent as LSP 3.17 notebook documents."""

from __future__ import annotations

import asyncio
import bisect
import difflib
import functools
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from kerasfix import __version__
from kerasfix.buffers import Options, check_text, file_settings
from kerasfix.findings import FileError, Finding, Location
from kerasfix.notebook import NotebookText
from kerasfix.positions import changed_span
from kerasfix.reparse import Reparser
from kerasfix.reporters import RULES_URL
from kerasfix.settings import Settings
from kerasfix.source import Source, line_starts

FIX_ALL_KIND = "source.fixAll.kerasfix"
FIX_ALL_COMMAND = "kerasfix.applyFixAll"
DOCS_URL = RULES_URL  # the README's rule table, as in SARIF output
DEBOUNCE_SECONDS = 0.03  # edits closer together than this are reported once, after the last (`schedule`)
PYTHON_SUFFIXES = (".py", ".pyi")

log = logging.getLogger("kerasfix.server")


# --- what is analysed: a .py document, or a notebook's code cells -----------------------------------


@dataclass(frozen=True)
class Cell:
    """One text document as the client has it: a whole .py file, or one code cell of a notebook."""

    uri: str
    text: str
    version: int | None


@dataclass(frozen=True)
class Snapshot:
    """The text of what is analysed as one program, as the client had it at one moment."""

    key: str  # the document's uri, or the notebook's
    path: Path  # where the file is (or would be saved): configuration is found from here
    cells: tuple[Cell, ...]
    notebook: bool = False

    def source(self) -> Source:
        if not self.notebook:
            return Source(path=self.path, text=self.cells[0].text, raw=b"")
        document = {"cells": [{"cell_type": "code", "source": cell.text} for cell in self.cells]}
        notebook = NotebookText(document, "", 1)
        return Source(path=self.path, text=notebook.text, raw=b"", notebook=notebook)

    def cell_of(self, location: Location | None) -> Cell:
        if location is None or not self.notebook or location.cell is None:
            return self.cells[0]
        return self.cells[min(max(location.cell, 1), len(self.cells)) - 1]

    def versions(self) -> tuple:
        return tuple(cell.version for cell in self.cells)


@dataclass
class Analysis:
    snapshot: Snapshot
    source: Source | None = None
    settings: Settings | None = None
    findings: list[Finding] = field(default_factory=list)
    error: FileError | None = None  # the file could not be checked (configuration, syntax, internal)


def analyse(snapshot: Snapshot, options: Options, parser=None) -> Analysis:
    """The findings in a snapshot, with the settings `kerasfix check` would use for its file
    (`parser`: the server's, which parses again only what an edit changed)."""
    from kerasfix.config import ConfigError
    from kerasfix.ruledata import CatalogueError

    analysis = Analysis(snapshot)
    try:
        chosen = file_settings(snapshot.path, options)
    except (ConfigError, CatalogueError) as error:
        analysis.error = FileError(str(snapshot.path), f"configuration error: {error}", "io")
        return analysis
    if chosen.excluded is not None:
        log.info("not checked: %s", chosen.excluded)
        return analysis
    analysis.settings = chosen.settings
    analysis.source = snapshot.source()
    analysis.findings, analysis.error = check_text(analysis.source, chosen.settings, parser)
    return analysis


# --- positions: kerasfix counts characters from 1; LSP counts code units (UTF-16 by default) from 0 --


def _units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class Lines:
    """A cell's text, for turning rows, columns and offsets into LSP positions."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = line_starts(text)

    def at_offset(self, offset: int) -> types.Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        return types.Position(line, _units(self.text[self.starts[line] : offset], self.encoding))

    def at(self, location: Location) -> types.Position:
        line = min(max(location.row, 1), len(self.starts)) - 1
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return types.Position(line, _units(self.text[start : min(start + location.column - 1, end)], self.encoding))


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # lines as Python (and `line_starts`) count them


def text_edits(old: str, new: str, encoding: str) -> list[types.TextEdit]:
    """Edits turning `old` into `new`: one per run of changed lines, each narrowed to the characters
    that change, so that what lies between two changes (a fix and the import it adds) is left alone."""
    old_lines, new_lines = _LINE_RE.findall(old), _LINE_RE.findall(new)
    starts = line_starts(old)
    starts.append(len(old))  # where a change after the last line begins
    lines = _lines(old, encoding)
    edits = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, low, high, new_low, new_high in matcher.get_opcodes():
        if tag == "equal":
            continue
        base = starts[min(low, len(starts) - 1)]
        end = starts[min(high, len(starts) - 1)]
        start, stop, content = changed_span(old[base:end], "".join(new_lines[new_low:new_high]))
        start, stop = base + start, base + stop
        if 0 < start < len(old) and old[start - 1] == "\r" and old[start] == "\n":
            start, content = start - 1, "\r" + content  # a position between \r and \n is not one a client knows
        if 0 < stop < len(old) and old[stop - 1] == "\r" and old[stop] == "\n":
            stop, content = stop + 1, content + "\n"
        edits.append(types.TextEdit(types.Range(lines.at_offset(start), lines.at_offset(stop)), content))
    return edits


@functools.lru_cache(maxsize=16)
def _lines(text: str, encoding: str) -> Lines:
    """The `Lines` of a cell's text, computed once for all its findings."""
    return Lines(text, encoding)


def _contains(outer: types.Range, position: types.Position) -> bool:
    return (outer.start.line, outer.start.character) <= (position.line, position.character) <= (outer.end.line, outer.end.character)


def _overlaps(one: types.Range, other: types.Range) -> bool:
    return _contains(one, other.start) or _contains(one, other.end) or _contains(other, one.start)


# --- the server -----------------------------------------------------------------------------------


class KerasfixServer(LanguageServer):
    """Keeps the latest analysis of each open document (or notebook) and answers from it."""

    def __init__(self) -> None:
        notebooks = types.NotebookDocumentSyncOptions(
            notebook_selector=[types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage("python")], notebook="*")],
            save=True,
        )
        super().__init__("kerasfix", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=notebooks)
        self.options = Options()
        self.debounce = DEBOUNCE_SECONDS
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.reported: set[str] = set()  # configuration errors already shown in a message
        self.changed: dict[str, float] = {}  # when each document was last edited (the event loop's clock)
        self.settled = False  # whether what stays loaded for the server's life has been set aside (`settle`)
        # one analysis at a time, off the event loop, so requests are read while a file is analysed
        self.analyser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kerasfix-analysis")
        self.reparser = Reparser()  # used on the analyser's thread only

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    # what the client has now

    def snapshot(self, uri: str) -> Snapshot | None:
        """The current snapshot of a document or notebook (by its uri or one of its cells'), or None
        when it is not Python."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri) or self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            cells = []
            for cell in notebook.cells:
                if cell.kind != types.NotebookCellKind.Code:
                    continue
                document = self.workspace.text_documents.get(cell.document)
                if document is not None and document.language_id in (None, "python"):
                    cells.append(Cell(cell.document, document.source, document.version))
            if not cells:
                return None
            return Snapshot(notebook.uri, _path(notebook.uri, self), tuple(cells), notebook=True)
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return None
        path = _path(uri, self)
        if document.language_id != "python" and path.suffix not in PYTHON_SUFFIXES:
            return None
        return Snapshot(uri, path, (Cell(uri, document.source, document.version),))

    def key_of(self, uri: str) -> str:
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    # analysing and publishing

    def schedule(self, key: str, delay: float = 0.0) -> None:
        """Analyse a document and publish its diagnostics; after an edit (`delay`: the debounce), only
        once `delay` has passed without a further edit. The first edit after a pause is analysed at
        once, while the debounce runs (what is published, and when, stays the same: only the wait
        is shorter); an edit within the debounce of the one before waits for it, so a burst of edits
        costs at most one analysis besides the last one's."""
        loop = asyncio.get_running_loop()
        previous = self.pending.pop(key, None)
        if previous is not None:
            previous.cancel()
        now = loop.time()
        last = self.changed.get(key)
        at_once = not delay or last is None or now - last >= delay
        if delay:
            self.changed[key] = now
        self.pending[key] = loop.create_task(self._publish_later(key, delay, at_once))

    async def _publish_later(self, key: str, delay: float, at_once: bool = True) -> None:
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + delay
            if delay and not at_once:
                await asyncio.sleep(delay)
            snapshot = self.snapshot(key)
            if snapshot is None:
                return
            analysis = await self.analysis_of(snapshot)
            if deadline > loop.time():
                await asyncio.sleep(deadline - loop.time())  # a further edit within it cancels this task
            current = self.snapshot(key)
            if current is None or current.versions() != snapshot.versions():
                return  # edited meanwhile: the analysis scheduled by that edit publishes
            self.publish(analysis)
        finally:
            if self.pending.get(key) is asyncio.current_task():
                del self.pending[key]

    async def analysis_of(self, snapshot: Snapshot) -> Analysis:
        """The analysis of this snapshot: the stored one when it is of the same text, else a new one."""
        stored = self.analyses.get(snapshot.key)
        if stored is not None and stored.snapshot == snapshot:
            return stored
        parser = functools.partial(self.reparser.parse, snapshot.key)
        analysis = await asyncio.get_running_loop().run_in_executor(self.analyser, analyse, snapshot, self.options, parser)
        self.analyses[snapshot.key] = analysis
        if not self.settled:
            self.settled = True
            asyncio.get_running_loop().run_in_executor(self.analyser, settle)
        return analysis

    async def current(self, uri: str) -> Analysis | None:
        snapshot = self.snapshot(uri)
        return None if snapshot is None else await self.analysis_of(snapshot)

    def publish(self, analysis: Analysis) -> None:
        snapshot = analysis.snapshot
        by_cell: dict[str, list[types.Diagnostic]] = {cell.uri: [] for cell in snapshot.cells}
        for finding in analysis.findings:
            cell = snapshot.cell_of(finding.location)
            by_cell[cell.uri].append(self.diagnostic(cell, finding))
        if analysis.error is not None:
            cell, diagnostic = self.error_diagnostic(analysis)
            by_cell[cell.uri].append(diagnostic)
        for cell in snapshot.cells:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=cell.uri, diagnostics=by_cell[cell.uri], version=cell.version)
            )

    def clear(self, key: str, uris: list[str]) -> None:
        task = self.pending.pop(key, None)
        if task is not None:
            task.cancel()
        self.analyses.pop(key, None)
        self.changed.pop(key, None)
        try:
            self.analyser.submit(self.reparser.forget, key)  # after any analysis of it still running
        except RuntimeError:  # shut down: nothing is kept any more
            pass
        for uri in uris:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def reanalyse_all(self) -> None:
        self.analyses.clear()
        keys = {self.key_of(uri) for uri in self.workspace.text_documents}
        for key in keys:
            if self.snapshot(key) is not None:
                self.schedule(key)

    # findings as LSP objects

    def range_of(self, cell: Cell, finding: Finding) -> types.Range:
        lines = _lines(cell.text, self.encoding)
        return types.Range(lines.at(finding.location), lines.at(finding.end_location))

    def diagnostic(self, cell: Cell, finding: Finding) -> types.Diagnostic:
        fix = finding.fix
        return types.Diagnostic(
            range=self.range_of(cell, finding),
            message=finding.message,
            severity=types.DiagnosticSeverity.Warning,
            code=finding.code,
            code_description=types.CodeDescription(href=DOCS_URL),
            source="kerasfix",
            data={"fix": fix.applicability if fix is not None else None},
        )

    def error_diagnostic(self, analysis: Analysis) -> tuple[Cell, types.Diagnostic]:
        """Why a file could not be checked, where it applies (the syntax error), else at its start."""
        error = analysis.error
        where = Location(error.row or 1, error.column or 1, error.cell)
        cell = analysis.snapshot.cell_of(where)
        position = Lines(cell.text, self.encoding).at(where)
        if error.kind == "io" and error.message not in self.reported:  # a configuration error: say it once aloud
            self.reported.add(error.message)
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"kerasfix: {error.message}"))
        message = f"kerasfix could not check this file: {error.message}"
        return cell, types.Diagnostic(types.Range(position, position), message, severity=types.DiagnosticSeverity.Error, source="kerasfix")

    # fixes as workspace edits

    def workspace_edit(self, snapshot: Snapshot, source: Source, new_text: str) -> types.WorkspaceEdit | None:
        """The edit turning the snapshot's text into `new_text`, cell by cell, against the versions the
        fixes were computed for (a client refuses it after a later change)."""
        if snapshot.notebook:
            before, after = source.notebook.cell_sources(source.text), source.notebook.cell_sources(new_text)
            new_cells = [after.get(index, cell.text) if after.get(index) != before.get(index) else cell.text
                         for index, cell in enumerate(snapshot.cells)]
        else:
            new_cells = [new_text]
        changes: list[types.TextDocumentEdit] = []
        for cell, text in zip(snapshot.cells, new_cells):
            if text == cell.text:
                continue
            edits = text_edits(cell.text, text, self.encoding)
            changes.append(types.TextDocumentEdit(types.OptionalVersionedTextDocumentIdentifier(cell.uri, cell.version), edits))
        if not changes:
            return None
        workspace = self.client_capabilities.workspace
        if workspace is not None and workspace.workspace_edit is not None and workspace.workspace_edit.document_changes:
            return types.WorkspaceEdit(document_changes=changes)
        return types.WorkspaceEdit(changes={change.text_document.uri: change.edits for change in changes})

    async def fix_all_edit(self, analysis: Analysis) -> types.WorkspaceEdit | None:
        """Every safe fix, applied as `kerasfix migrate` applies them (in rounds, imports tidied)."""
        if analysis.source is None or not any(f.fix is not None and f.fix.applicability == "safe" for f in analysis.findings):
            return None
        loop = asyncio.get_running_loop()
        fixed, dropped = await loop.run_in_executor(self.analyser, fix_all, analysis.source, analysis.settings)
        for message in dropped:  # fixes `migrate` would leave out too (an internal error): said, not applied
            self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"kerasfix: {message}"))
        return None if fixed is None else self.workspace_edit(analysis.snapshot, analysis.source, fixed)

    def offered(self, analysis: Analysis, finding: Finding) -> bool:
        fix = finding.fix
        return fix is not None and (fix.applicability == "safe" or analysis.settings.unsafe_fixes)

    def quick_fix(self, analysis: Analysis, finding: Finding) -> types.CodeAction | None:
        new_text = fixed_by(analysis.source, finding, analysis.settings)
        edit = None if new_text is None else self.workspace_edit(analysis.snapshot, analysis.source, new_text)
        if edit is None:
            return None
        unsafe = finding.fix.applicability == "unsafe"
        cell = analysis.snapshot.cell_of(finding.location)
        return types.CodeAction(
            title=f"Fix {finding.code}: {finding.fix.message}" + (" (unsafe fix: may change behaviour)" if unsafe else ""),
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[self.diagnostic(cell, finding)],
            edit=edit,
            is_preferred=not unsafe,
        )


def settle() -> None:
    """After the first analysis, when the rules, the catalogue and the parser are loaded: set what is
    alive now aside from the garbage collector (`gc.freeze`), so the collections that each analysis's
    many short-lived nodes set off no longer go through the tables kept for the server's life."""
    import gc

    gc.collect()
    gc.freeze()


def fix_all(source: Source, settings: Settings) -> tuple[str | None, list[str]]:
    """The text with every safe fix applied, as `migrate` applies them, and the fixes it left out."""
    from kerasfix.engine import ParseFailure, fix_text

    try:
        result = fix_text(source, replace(settings, unsafe_fixes=False))
    except ParseFailure:
        return None, []
    if _breaks(source.text, result.text):
        return None, ["internal error: the fixed code would not compile; nothing was changed. Please report it with the file."]
    return result.text, result.dropped


def _breaks(before: str, after: str) -> bool:
    """Whether fixes turned code Python compiles into code it does not (`migrate` writes no such file)."""
    from kerasfix.runner import _compiles

    return not _compiles([after]) and _compiles([before])


def fixed_by(source: Source, finding: Finding, settings: Settings) -> str | None:
    """The text with this one finding's fix applied as `migrate` applies a fix: imports tidied, and
    refused (None) when a name it writes does not mean its Keras symbol in the fixed code."""
    from libcst import ParserSyntaxError

    from kerasfix.engine import FileContext, ParseFailure, apply_edits, parse
    from kerasfix.imports import fix_imports
    from kerasfix.spelling import unresolved_writes

    fix = finding.fix
    edited = apply_edits(source.text, fix.edits)
    try:
        fixed = fix_imports(edited, fix.requires, fix.releases, settings.target) if fix.requires or fix.releases else edited
        if fix.writes:
            start, _, content = changed_span(source.text, fixed)
            context = FileContext(source, fixed, parse(fixed), settings)
            if unresolved_writes(context, [(start, start + len(content), fix.writes)]):
                return None
    except (ParseFailure, ParserSyntaxError):
        return None
    return None if _breaks(source.text, fixed) else fixed


def _path(uri: str, server: LanguageServer) -> Path:
    """The file a uri names; for an unsaved buffer, a file of that name in the workspace's root."""
    path = to_fs_path(uri)
    if path:
        return Path(path)
    root = server.workspace.root_path
    return Path(root or ".").absolute() / (uri.rsplit("/", 1)[-1] or "untitled.py")


OPTION_NAMES = frozenset({
    "select", "extend-select", "extendSelect", "ignore", "target", "unsafe-fixes", "unsafeFixes", "config",
    "configuration", "isolated", "debounce",
})


def _options(raw: Any) -> tuple[Options, float | None]:
    """`initializationOptions` (or the `kerasfix` section of the settings): the command line's
    options, spelt as in pyproject.toml or in camel case, and `debounce` in milliseconds."""
    if not isinstance(raw, dict):
        return Options(), None

    def get(name: str):
        camel = name.split("-")[0] + "".join(word.title() for word in name.split("-")[1:])
        return raw.get(name, raw.get(camel))

    def codes(name: str) -> tuple[str, ...]:
        value = get(name) or ()
        return (value,) if isinstance(value, str) else tuple(str(code) for code in value)

    config = get("config") or get("configuration")
    debounce = get("debounce")
    options = Options(
        select=codes("select"),
        extend_select=codes("extend-select"),
        ignore=codes("ignore"),
        target=get("target"),
        unsafe_fixes=bool(get("unsafe-fixes")),
        config=Path(config) if config else None,
        isolated=bool(get("isolated")),
    )
    return options, float(debounce) / 1000 if isinstance(debounce, (int, float)) else None


def build_server() -> KerasfixServer:
    server = KerasfixServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: KerasfixServer, params: types.InitializeParams) -> None:
        ls.options, debounce = _options(params.initialization_options)
        if debounce is not None:
            ls.debounce = debounce

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: KerasfixServer, *args: Any) -> None:
        for task in ls.pending.values():
            task.cancel()
        ls.analyser.shutdown(wait=False, cancel_futures=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration_changed(ls: KerasfixServer, params: types.DidChangeConfigurationParams) -> None:
        # the `kerasfix` section of the client's settings, or the options themselves (as Helix sends its `config`)
        settings = params.settings if isinstance(params.settings, dict) else {}
        section = settings.get("kerasfix", settings)
        if isinstance(section, dict) and set(section) & OPTION_NAMES:
            ls.options, debounce = _options(section)
            if debounce is not None:
                ls.debounce = debounce
        ls.reanalyse_all()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KerasfixServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KerasfixServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KerasfixServer, params: types.DidSaveTextDocumentParams) -> None:
        if _path(params.text_document.uri, ls).name == "pyproject.toml":
            ls.reanalyse_all()  # the configuration may have changed
        elif ls.snapshot(params.text_document.uri) is not None:
            ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KerasfixServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.clear(params.text_document.uri, [params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_opened(ls: KerasfixServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_changed(ls: KerasfixServer, params: types.DidChangeNotebookDocumentParams) -> None:
        closed = params.change.cells.structure.did_close if params.change.cells and params.change.cells.structure else None
        for cell in closed or []:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell.uri, diagnostics=[]))
        ls.schedule(params.notebook_document.uri, ls.debounce)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_saved(ls: KerasfixServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_closed(ls: KerasfixServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.clear(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: KerasfixServer, params: types.HoverParams) -> types.Hover | None:
        from kerasfix import registry

        analysis = await ls.current(params.text_document.uri)
        if analysis is None:
            return None
        specs = registry.all_specs()
        for finding in analysis.findings:
            cell = analysis.snapshot.cell_of(finding.location)
            found = ls.range_of(cell, finding)
            if cell.uri == params.text_document.uri and _contains(found, params.position) and finding.code in specs:
                text = specs[finding.code].explanation()
                return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), found)
        return None

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=True),
    )
    async def code_action(ls: KerasfixServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        analysis = await ls.current(uri)
        if analysis is None or analysis.source is None:
            return None
        only = params.context.only
        actions: list[types.CodeAction] = []
        if _wanted(only, types.CodeActionKind.QuickFix):
            for finding in analysis.findings:
                cell = analysis.snapshot.cell_of(finding.location)
                if cell.uri != uri or not ls.offered(analysis, finding) or not _overlaps(ls.range_of(cell, finding), params.range):
                    continue
                action = await asyncio.get_running_loop().run_in_executor(ls.analyser, ls.quick_fix, analysis, finding)
                if action is not None:
                    actions.append(action)
        if _wanted(only, FIX_ALL_KIND) and any(f.fix is not None and f.fix.applicability == "safe" for f in analysis.findings):
            action = types.CodeAction(title="kerasfix: fix all safe fixes", kind=FIX_ALL_KIND, data={"uri": analysis.snapshot.key})
            if not _resolves_edits(ls):
                action.command = types.Command(title="kerasfix: fix all safe fixes", command=FIX_ALL_COMMAND, arguments=[analysis.snapshot.key])
            actions.append(action)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: KerasfixServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        analysis = await ls.current(data.get("uri", ""))
        if action.kind == FIX_ALL_KIND and analysis is not None:
            action.edit = await ls.fix_all_edit(analysis)
        return action

    @server.command(FIX_ALL_COMMAND)
    async def apply_fix_all(ls: KerasfixServer, uri: str) -> bool:
        analysis = await ls.current(uri)
        if analysis is None:
            return False
        edit = await ls.fix_all_edit(analysis)
        if edit is None:
            return False
        result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit, label="kerasfix: fix all safe fixes"))
        return bool(result.applied)

    return server


def _wanted(only: list[str] | None, kind: str) -> bool:
    """Whether a code action request restricted to `only` kinds asks for `kind` (a kind covers its sub-kinds)."""
    return only is None or any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def _resolves_edits(server: LanguageServer) -> bool:
    """Whether the client fills in a code action's edit by asking `codeAction/resolve`."""
    capabilities = server.client_capabilities.text_document
    code_action = capabilities.code_action if capabilities is not None else None
    support = code_action.resolve_support if code_action is not None else None
    return support is not None and "edit" in support.properties


def serve() -> int:
    """Run the server on stdin and stdout until the client says exit."""
    build_server().start_io()
    return 0
