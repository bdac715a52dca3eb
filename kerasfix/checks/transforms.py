"""Catalogue changes that data alone cannot express, named by an entry's `transform` key.

A transform is `transform(entry, rewrite)`: it inspects the call (`rewrite.node`, `rewrite.slot(...)`)
and adds changes with `rewrite.add(code, safety, detail, apply)`, where `apply(plan)`
edits the planned call (see `kerasfix.checks.rewrite.Plan`, with the standard actions and helpers).

Each transform module registers its transforms in a registry of its own (`transform =
TransformRegistry()`, then `@transform("name")`), and this module merges the registries it imports:
a new transform module is imported and listed here, and tests/test_transforms_registry.py fails
until it is.
"""

from __future__ import annotations

from typing import Callable

from kerasfix.checks import backend_transforms, batch_dot_transforms, guide_transforms, initializer_transforms, layer_transforms, portable_transforms, train_phase_transforms, training_transforms, validity


def _merged(*registries: dict[str, Callable]) -> dict[str, Callable]:
    merged: dict[str, Callable] = {}
    for registry in registries:
        twice = sorted(merged.keys() & registry.keys())
        if twice:
            raise ValueError(f"transforms registered by two modules: {', '.join(twice)}")
        merged.update(registry)
    return merged


TRANSFORMS: dict[str, Callable] = _merged(
    backend_transforms.transform,
    batch_dot_transforms.transform,
    guide_transforms.transform,
    initializer_transforms.transform,
    layer_transforms.transform,
    portable_transforms.transform,
    train_phase_transforms.transform,
    training_transforms.transform,
    validity.transform,
)
