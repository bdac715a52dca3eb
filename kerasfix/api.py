"""The public Keras 3 API as a data snapshot (`rules/keras_api.json`), read without importing Keras."""

from __future__ import annotations

import functools
import json

from kerasfix import catalogue


@functools.lru_cache(maxsize=1)
def snapshot() -> dict:
    path = catalogue.catalogue_dir() / "keras_api.json"
    if not path.exists():
        return {"modules": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def exports(module: str) -> frozenset[str] | None:
    """The public names of a Keras 3 module (`keras.layers`), or None when the snapshot lacks it."""
    names = snapshot()["modules"].get(module)
    return frozenset(names) if names is not None else None
