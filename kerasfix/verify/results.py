"""What `kerasfix verify` finds for each file: the records `command` fills and `report` prints, and whether
each model verified, failed or was skipped for a reason outside kerasfix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# The largest difference between the original and the migrated model's outputs that still verifies.
TOLERANCE = 1e-5
# The largest difference between two backends' outputs (`verify --backend`), float32, same weights and batch,
# relative to the value where it exceeds 1: the backends' kernels round differently.
BACKEND_TOLERANCE = 1e-4
VERIFIED, FAILED, SKIPPED = "verified", "failed", "skipped"


@dataclass
class FileReport:
    file: str
    models: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # an error with a "skip" says why the file was skipped
    notes: list[str] = field(default_factory=list)
    time: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing failed (skipped models and skip-only errors are not failures)."""
        return not self.failed(strict=False)

    def failed(self, strict: bool) -> bool:
        """Did anything fail? With `strict`, a skip is a failure too."""
        bad = {FAILED, SKIPPED} if strict else {FAILED}
        return any(error_status(e) in bad for e in self.errors) or any(model_status(m) in bad for m in self.models)


def model_ok(record: dict) -> bool:
    """Did this model build on both sides, with the same shapes and parameters, equal outputs, and train?"""
    diff = record.get("max_output_diff")
    return bool(
        record.get("error") is None and record.get("built") and record.get("shapes_match") and record.get("params_match")
        and diff is not None and diff <= TOLERANCE and record.get("trained")
        and all(backend_ok(name, entry) for name, entry in (record.get("backends") or {}).items())
    )


def backend_ok(backend: str, entry: dict) -> bool:
    """Did the model build and train on this backend, with outputs within BACKEND_TOLERANCE of TensorFlow's?
    (TensorFlow's own entry is the reference: it has no difference.)"""
    diff = entry.get("max_output_diff")
    return bool(entry.get("error") is None and entry.get("built") and entry.get("trained")
                and (backend == "tensorflow" or (diff is not None and diff <= BACKEND_TOLERANCE)))


def model_status(record: dict) -> str:
    if model_ok(record):
        return VERIFIED
    return SKIPPED if record.get("skip") else FAILED


def error_status(error: dict) -> str:
    return SKIPPED if error.get("skip") else FAILED


def not_built(data: str | None) -> dict:
    """Why a model the original program never builds before training is skipped (not a failure of the migration)."""
    why = (f"the data passed to its fit ({data}) is not known before training" if data
           else "the program does not train it where verify can see the data")
    return {"label": "not built: no input shape",
            "message": f"not built: its first layer states no input shape and {why}; give the first layer an input "
                       "shape (input_shape=...) to verify it"}


def settle(report: FileReport) -> None:
    """File errors once each (not again when a model's record shows them), and a migrated program's error counted
    as a skip only when the original stopped for the same reason: one the migration alone brought (a package, a
    file the original did not need) is a failure."""
    shown = [e for m in report.models if (e := m.get("error"))]
    # the reasons to skip the original stopped for, before an error both programs met is shown once
    labels = {e["skip"]["label"] for e in [*report.errors, *shown] if e.get("skip") and e.get("side") != "migrated"}
    unique: dict[tuple, dict] = {}
    for error in report.errors:
        unique.setdefault((error.get("type"), error.get("message"), error.get("line")), error)
    report.errors[:] = [e for e in unique.values() if not any(
        s.get("type") == e.get("type") and s.get("line") == e.get("line") and str(s.get("message", "")).endswith(str(e.get("message")))
        for s in shown)]
    labels |= {m["skip"]["label"] for m in report.models if m.get("skip")}
    for error in report.errors:
        if error.get("skip") and error.get("side") == "migrated" and error["skip"]["label"] not in labels:
            del error["skip"]


def _failure_reason(record: dict) -> str:
    error = record.get("error")
    if error:
        return error.get("type", "Error")
    if record.get("differences"):
        return "the models differ"
    return "outputs differ" if record.get("max_output_diff") is not None else "not compared"


def summary(reports: list[FileReport], strict: bool = False, top: int = 3) -> dict:
    """Counts for the run and its most frequent reasons for skips and failures."""
    counts = Counter({VERIFIED: 0, FAILED: 0, SKIPPED: 0})
    reasons: Counter = Counter()
    for report in reports:
        for record in report.models:
            status = model_status(record)
            counts[status] += 1
            if status == SKIPPED:
                reasons[f"skipped: {record['skip']['label']}"] += 1
            elif status == FAILED:
                reasons[f"failed: {_failure_reason(record)}"] += 1
        for error in report.errors:
            reasons[f"skipped: {error['skip']['label']}" if error.get("skip") else f"file error: {error.get('type', 'Error')}"] += 1
    top_reasons = reasons.most_common(top)
    line = (f"{len(reports)} file{'s' if len(reports) != 1 else ''}, {sum(counts.values())} model"
            f"{'s' if sum(counts.values()) != 1 else ''}: {counts[VERIFIED]} verified, {counts[FAILED]} failed, "
            f"{counts[SKIPPED]} skipped{' (counted as failures: --strict)' if strict and counts[SKIPPED] else ''}")
    if top_reasons:
        line += "; top reasons: " + ", ".join(f"{reason} ({count})" for reason, count in top_reasons)
    return {"files": len(reports), **counts, "reasons": [[r, c] for r, c in top_reasons], "line": line}
