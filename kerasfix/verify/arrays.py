"""Arrays between verify workers: weights, a batch and its outputs packed into JSON-safe text, loaded layer by
layer into another build, and the difference between two builds' outputs. NumPy only: used by every worker."""

from __future__ import annotations

import base64
import io

import numpy as np


def pack(arrays: list[np.ndarray]) -> str:
    """Arrays as base64 text of an .npz file (exact: dtypes and shapes travel with the values)."""
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(a) for a in arrays])
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack(text: str) -> list[np.ndarray]:
    with np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False) as archive:
        return [archive[f"arr_{index}"] for index in range(len(archive.files))]


def pack_weights(layers: list) -> dict:
    """The weights of `layers` (the model's leaves, in order) with how many belong to each layer."""
    weighted = [layer for layer in layers if layer.weights]
    per_layer = [layer.get_weights() for layer in weighted]
    return {"counts": [len(w) for w in per_layer], "arrays": pack([a for w in per_layer for a in w])}


def load_weights(layers: list, model, packed: dict) -> str | None:
    """Set another build's weights: layer by layer when every shape matches, else as the model's whole list;
    None when done, else why not."""
    flat = unpack(packed["arrays"])
    weighted = [layer for layer in layers if layer.weights]
    counts = packed["counts"]
    if len(weighted) == len(counts):
        groups, start = [], 0
        for count in counts:
            groups.append(flat[start:start + count])
            start += count
        if all([w.shape for w in layer.get_weights()] == [a.shape for a in group] for layer, group in zip(weighted, groups)):
            for layer, group in zip(weighted, groups):
                if group:
                    layer.set_weights(group)
            return None
    if [tuple(w.shape) for w in model.get_weights()] == [a.shape for a in flat]:
        model.set_weights(flat)
        return None
    return "the weights could not be copied: their shapes differ"


def difference(expected: list[np.ndarray], actual: list[np.ndarray]) -> tuple[float | None, str | None]:
    """The largest difference between two builds' outputs, relative to the expected value where it exceeds 1
    (|a - b| / max(1, |a|)): float32 rounding grows with the magnitude of the values."""
    if len(expected) != len(actual) or any(np.shape(a) != np.shape(b) for a, b in zip(expected, actual)):
        return None, f"the outputs differ in shape: {[np.shape(a) for a in expected]} vs {[np.shape(b) for b in actual]}"
    largest = 0.0
    for a, b in zip(expected, actual):
        if not np.size(a):
            continue
        a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if not (np.isfinite(a64).all() and np.isfinite(b64).all()):
            same = np.array_equal(a64, b64, equal_nan=True)
            if not same:
                return float("inf"), "the outputs are not finite"
            continue
        largest = max(largest, float(np.max(np.abs(a64 - b64) / np.maximum(1.0, np.abs(a64)))))
    return largest, None
