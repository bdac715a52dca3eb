"""What a run checks and how: light enough to import before anything is parsed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    """What to run and how: the result of config plus command-line options."""

    enabled: frozenset[str]
    target: str = "tf.keras"
    unsafe_fixes: bool = False

    @property
    def portable(self) -> bool:
        """`--target portable`: model code is rewritten to run on every Keras 3 backend (KF5xx)."""
        return self.target == "portable"
