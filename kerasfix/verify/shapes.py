"""Declared and computed output shapes of the migrated model's layers.

Keras 3 gives a layer's output tensor, while a Functional model is built, the shape the layer's
`compute_output_shape()` declares when its class defines one; tf.keras 2 ran `call()` on symbolic tensors and never
asked. A custom layer whose declaration disagrees with its `call()` (deepctr's `Linear` declares `(None, 1)` and
returns `(None, 1, 1)`) therefore shows another shape after migration, and so do the layers after it, while the
model computes the same arrays. Verify tells the two apart: the TensorFlow build of the migrated program records,
beside each layer's declared shape, the shape its output has when the model runs on the batch (`computed`), and the
comparison counts a shape difference as the migration's only where the computed shape differs too; the others are
named in a note.
"""

from __future__ import annotations


def computed_shapes(model, leaves: list, batch: list, forward) -> list[list | None]:
    """For each of `leaves`, the shapes its outputs have on `batch` (batch size as None), or None where the layer
    cannot be probed (several calls, inside a nested model) or the probe fails. `forward(model, batch)` is the
    worker's inference pass."""
    import keras

    found: list[list | None] = [None] * len(leaves)
    probed: list[tuple[int, int]] = []  # (leaf index, how many outputs)
    outputs: list = []
    for index, layer in enumerate(leaves):
        try:
            if len(getattr(layer, "_inbound_nodes", None) or []) != 1:
                continue
            flat = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError, RuntimeError):
            continue
        probed.append((index, len(flat)))
        outputs.extend(flat)
    if not outputs:
        return found
    try:
        probe = keras.Model(model.inputs, outputs)
        arrays = keras.tree.flatten(forward(probe, batch))
    except Exception:  # noqa: BLE001 - a model the probe cannot take keeps its declared shapes only
        return found
    position = 0
    for index, count in probed:
        shapes = [[None, *(int(d) for d in getattr(array, "shape", ())[1:])] for array in arrays[position:position + count]]
        position += count
        found[index] = shapes[0] if count == 1 else shapes
    return found


def fits(symbolic, computed) -> bool:
    """Whether a computed shape is one the symbolic shape allows (its unknown dimensions are anything)."""
    if symbolic is None or computed is None:
        return False
    if symbolic and isinstance(symbolic[0], list):
        return (
            bool(computed) and isinstance(computed[0], list) and len(symbolic) == len(computed)
            and all(fits(a, b) for a, b in zip(symbolic, computed))
        )
    if computed and isinstance(computed[0], list):
        return False
    return len(symbolic) == len(computed) and all(a is None or a == b for a, b in zip(symbolic, computed))


def declared_only(original: dict, migrated: dict) -> bool:
    """A layer whose declared shape differs from the original's while the shape it computes is the original's."""
    return (
        original["type"] == migrated["type"]
        and original["output_shape"] != migrated["output_shape"]
        and fits(original["output_shape"], migrated.get("computed"))
    )


def declared_note(layers: list[tuple[int, dict, dict]]) -> str | None:
    """The note for the layers `declared_only` let through (`runtime.declared_layers`): (position, original
    record, migrated record)."""
    if not layers:
        return None

    def fmt(shape) -> str:
        if shape and isinstance(shape[0], list):
            return ", ".join(fmt(s) for s in shape)
        return "(" + ", ".join("None" if d is None else str(d) for d in shape or ()) + ")"

    listed = "; ".join(
        f"layer {index}: {b['type']} declares {fmt(b['output_shape'])} and computes {fmt(a['output_shape'])} as in the original"
        for index, a, b in layers[:4]
    )
    more = f" (and {len(layers) - 4} more)" if len(layers) > 4 else ""
    return (
        f"{len(layers)} layer(s) have another declared shape in Keras 3 but compute the original's: {listed}{more}. "
        "Keras 3 takes a layer's output shape from its compute_output_shape() where the class defines one, and the "
        "layers after it follow; tf.keras 2 ran call(). Check that compute_output_shape() returns what call() does"
    )
