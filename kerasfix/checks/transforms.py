"""Catalogue changes that data alone cannot express, named by an entry's `transform` key.

A transform is `transform(entry, rewrite)`: it inspects the call (`rewrite.node`, `rewrite.slot(...)`)
and adds changes with `rewrite.add(code, safety, detail, apply, requires)`, where `apply(plan)`
edits the planned call (see `kerasfix.checks.catalogue.Plan`).
"""

from __future__ import annotations

from typing import Callable

TRANSFORMS: dict[str, Callable] = {}


def transform(name: str):
    """Register a function as the transform called `name`."""

    def register(function: Callable) -> Callable:
        TRANSFORMS[name] = function
        return function

    return register


def _load() -> None:
    # Transforms live beside the rules they serve; importing the modules registers them.
    from kerasfix.checks import layer_transforms, training_transforms  # noqa: F401


try:
    _load()
except ImportError:  # a module not written yet registers nothing
    pass
