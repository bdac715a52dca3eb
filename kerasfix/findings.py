"""The records a run produces: edits, fixes and findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Applicability = Literal["safe", "unsafe"]


@dataclass(frozen=True)
class Edit:
    """Replace the characters [start, end) of a source text with `content`."""

    start: int
    end: int
    content: str


@dataclass(frozen=True)
class Requirement:
    """A name the fixed code uses, which an import must bind: `from module import name [as asname]`,
    or, when `name` is None, the module itself (`import keras`)."""

    module: str  # canonical Keras module, e.g. "keras.layers"
    name: str | None
    asname: str | None = None

    @property
    def local(self) -> str:
        """The name the import binds in the file."""
        return self.asname or self.name or self.module.split(".")[0]

    @property
    def symbol(self) -> str:
        """The canonical Keras name the binding refers to."""
        return self.module if self.name is None else f"{self.module}.{self.name}"


@dataclass(frozen=True)
class Written:
    """A name a fix writes (`concatenate`, `layers.concatenate`, `keras_concatenate`) and the
    canonical Keras symbol it must resolve to in the fixed code."""

    spelling: str
    symbol: str


@dataclass
class Fix:
    """A change that resolves a finding.

    `edits` change the code at the finding; `requires` are names the new code needs imported and
    `releases` are bare names the old code used which may now be unused.  Import edits are computed
    from those by the engine, so that several fixes touching one import statement never collide.
    """

    applicability: Applicability
    message: str
    edits: list[Edit]
    requires: list[Requirement] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    # the Keras names the edits write, checked against the fixed code (kerasfix/spelling.py)
    writes: list[Written] = field(default_factory=list)


@dataclass
class Location:
    row: int  # 1-based
    column: int  # 1-based
    cell: int | None = None  # 1-based notebook cell, when the source is a notebook


@dataclass
class Finding:
    code: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Fix | None = None
    # The import edits this fix needs on its own (shown in JSON output); filled by the engine.
    import_edits: list[Edit] = field(default_factory=list)
    source_line: str = ""

    def sort_key(self) -> tuple:
        return (self.filename, self.location.cell or 0, self.location.row, self.location.column, self.code)


@dataclass
class FileError:
    """A file that could not be processed: unreadable, unparsable, or an internal error."""

    filename: str
    message: str
    kind: Literal["io", "parse", "internal"]
    row: int | None = None
    column: int | None = None
    cell: int | None = None


def _location_to(location: Location) -> list:
    return [location.row, location.column, location.cell]


def finding_to_record(finding: Finding) -> dict:
    """A Finding as plain data, for the cache and for worker processes."""
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability,
            "message": finding.fix.message,
            "edits": [[e.start, e.end, e.content] for e in finding.fix.edits],
            "requires": [[r.module, r.name, r.asname] for r in finding.fix.requires],
            "releases": list(finding.fix.releases),
            "writes": [[w.spelling, w.symbol] for w in finding.fix.writes],
        }
    return {
        "code": finding.code,
        "message": finding.message,
        "filename": finding.filename,
        "location": _location_to(finding.location),
        "end_location": _location_to(finding.end_location),
        "fix": fix,
        "source_line": finding.source_line,
    }


def finding_from_record(record: dict) -> Finding:
    fix = None
    if record["fix"] is not None:
        raw = record["fix"]
        fix = Fix(
            raw["applicability"],
            raw["message"],
            [Edit(*edit) for edit in raw["edits"]],
            [Requirement(*requirement) for requirement in raw["requires"]],
            list(raw["releases"]),
            [Written(*written) for written in raw.get("writes", [])],
        )
    return Finding(
        code=record["code"],
        message=record["message"],
        filename=record["filename"],
        location=Location(*record["location"]),
        end_location=Location(*record["end_location"]),
        fix=fix,
        source_line=record.get("source_line", ""),
    )
