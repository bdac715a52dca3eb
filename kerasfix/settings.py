"""What a run checks and how: light enough to import before anything is parsed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    """What to run and how: the result of config plus command-line options."""

    enabled: frozenset[str]
    target: str = "tf.keras"
    unsafe_fixes: bool = False
