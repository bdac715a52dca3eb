"""The same noise on both sides, for outputs that are random at inference (a VAE's sampling layer): the original
built by tf-keras and the migrated program built by Keras 3 draw their noise from two different generators, so no
seed makes them agree. While `same_noise()` is active, the random functions a program calls at inference (Keras 2's
`K.random_normal`, `K.random_uniform`, `K.truncated_normal`, Keras 3's `keras.random.normal`, `uniform`,
`truncated_normal`, and TensorFlow's `tf.random.normal`, `uniform`, `truncated_normal`) draw from TensorFlow's
stateless generator under one fixed seed instead: the same shape gives the same values in both workers, so the
outputs compare exactly. Verify says so in its report; a random source it does not replace (NumPy, a
`tf.random.Generator`) leaves the outputs random, and they are then left out as before."""

from __future__ import annotations

import contextlib
import importlib
from typing import Iterator

SEED = (1729, 0)
CHECK_SEEDS = (104729, 104723)  # the seeds of the two passes that tell a model's outputs random at inference


def _normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None, **kwargs):
    import tensorflow as tf

    return tf.random.stateless_normal(shape, seed=SEED, mean=mean, stddev=stddev, dtype=_float(dtype))


def _truncated(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None, **kwargs):
    import tensorflow as tf

    return tf.random.stateless_truncated_normal(shape, seed=SEED, mean=mean, stddev=stddev, dtype=_float(dtype))


def _uniform(shape, minval=0.0, maxval=None, dtype=None, seed=None, name=None, **kwargs):
    import tensorflow as tf

    dtype = _float(dtype)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError("a uniform draw of integers needs maxval")
        maxval = 1.0
    return tf.random.stateless_uniform(shape, seed=SEED, minval=minval, maxval=maxval, dtype=dtype)


def _float(dtype):
    import tensorflow as tf

    return tf.as_dtype(dtype or "float32")


REPLACEMENTS = {"normal": _normal, "random_normal": _normal, "uniform": _uniform, "random_uniform": _uniform,
                "truncated_normal": _truncated}
# module -> its random functions replaced, by name
TENSORFLOW = {"tensorflow.random": ("normal", "uniform", "truncated_normal")}
KERAS3 = {"keras.random": ("normal", "uniform", "truncated_normal"), **TENSORFLOW}
TF_KERAS = {"tf_keras.backend": ("random_normal", "random_uniform", "truncated_normal"),
            "tf_keras.src.backend": ("random_normal", "random_uniform", "truncated_normal"), **TENSORFLOW}


def _modules(dotted: str) -> list:
    """The module objects a program reaches by this dotted name: the attribute chain from its root (`from tf_keras
    import backend`, `tf.random`: TensorFlow's `random` is an attribute of its API, not a module that imports by its
    name) and the module imported by the name (`from tf_keras.backend import random_normal`), which may differ."""
    found = []
    root, *parts = dotted.split(".")
    try:
        value = importlib.import_module(root)
        for part in parts:
            value = getattr(value, part, None)
            if value is None:
                break
        if value is not None:
            found.append(value)
    except ImportError:
        pass
    try:
        found.append(importlib.import_module(dotted))
    except ImportError:
        pass
    return list({id(module): module for module in found}.values())


def same(first: list, second: list) -> bool:
    """Two passes gave the same outputs."""
    import numpy as np

    return len(first) == len(second) and all(
        np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True) for a, b in zip(first, second))


@contextlib.contextmanager
def same_noise(targets: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """Replace the random functions of `targets` (KERAS3 or TF_KERAS) while the block runs."""
    saved = []
    try:
        for module_name, names in targets.items():
            for module in _modules(module_name):
                for name in names:
                    if hasattr(module, name):
                        saved.append((module, name, getattr(module, name)))
                        setattr(module, name, REPLACEMENTS[name])
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


NOTE = ("outputs random at inference: compared with the same noise on both sides (verify made the random functions "
        "the programs call, K.random_normal, keras.random.normal, tf.random.normal and the like, draw from "
        "TensorFlow's stateless generator under one seed)")
