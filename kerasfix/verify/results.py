"""What `kerasfix verify` finds for each file: the records `command` fills and `report` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

# The largest difference between the original and the migrated model's outputs that still verifies.
TOLERANCE = 1e-5


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
    """Did this model build on both sides, with the same shapes and parameters, equal outputs, and train?"""
    diff = record.get("max_output_diff")
    return bool(
        record.get("error") is None and record.get("built") and record.get("shapes_match") and record.get("params_match")
        and diff is not None and diff <= TOLERANCE and record.get("trained")
    )
