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


MODULES = ("kerasfix.checks.layer_transforms", "kerasfix.checks.training_transforms", "kerasfix.checks.validity")


def _load() -> None:
    # Transforms live beside the rules they serve; importing the modules registers them. Each is
    # imported on its own, so that one missing module does not keep the others' transforms out.
    import importlib

    for module in MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise  # a real import error inside the module must not pass silently


_load()
