"""The public Keras 3 API as a data snapshot (`rules/keras_api.json`), read without importing Keras."""

from __future__ import annotations

import functools
import json

from kerasfix import ruledata


@functools.lru_cache(maxsize=1)
def snapshot() -> dict:
    path = ruledata.catalogue_dir() / "keras_api.json"
    if not path.exists():
        return {"modules": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def exports(module: str) -> frozenset[str] | None:
    """The public names of a Keras 3 module (`keras.layers`), or None when the snapshot lacks it."""
    names = snapshot()["modules"].get(module)
    return frozenset(names) if names is not None else None


@functools.lru_cache(maxsize=1)
def legacy_symbols() -> frozenset[str]:
    """Canonical names from earlier Keras versions that some rule knows about."""
    names = set(ruledata.load("names").get("legacy", {}).get("symbols", []))
    for path in ruledata.catalogue_dir().glob("*.toml"):
        if path.stem in ruledata.NOT_CHANGES:  # tables only: nothing to read, and tf_ops takes ~50 ms to load
            continue
        for change in ruledata.load(path.stem).get("change", []):
            names.update(change.get("symbols", []))
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def removed_symbols() -> frozenset[str]:
    """Legacy names that rules report but cannot rewrite (every change naming them has `fix = "none"`)."""
    fixable: set[str] = set()
    reported: set[str] = set()
    for path in ruledata.catalogue_dir().glob("*.toml"):
        if path.stem in ruledata.NOT_CHANGES:
            continue
        for change in ruledata.load(path.stem).get("change", []):
            symbols = change.get("symbols", [])
            (reported if change.get("fix") == "none" else fixable).update(symbols)
    return frozenset(reported - fixable)


def knows(module: str, name: str) -> bool:
    """Whether `module.name` is a Keras name: public in Keras 3, or legacy and known to a rule."""
    exported = exports(module)
    return exported is None or name in exported or f"{module}.{name}" in legacy_symbols()
