"""Inside a worker of any Keras 3 backend: build the migrated program's models on their own, and either hand out
their weights, a batch and its outputs (the TensorFlow build, the reference) or load the reference's weights and
compare outputs on its batch (JAX, PyTorch); then train. `verify --backend` and the tf-keras oracle use it."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from kerasfix.verify import arrays, noise, runtime, shapes


def _names(side: runtime.Side, sites: dict) -> list[str]:
    """The models the program built, and the model-like names it failed to build."""
    names = list(side.models)
    names += [name for name in side.failed if name in sites and name not in names]
    return names


def _error(kind: str, message: str) -> dict:
    return {"type": kind, "message": message, "line": None, "source": None, "side": "migrated"}


def _build(model) -> str | None:
    """A note when verify chose the input shape; raises when the model cannot be built."""
    if not runtime._has_inputs(model):
        shape = runtime._guess_input_shape(model)
        if shape is not None:
            model.build(shape)
            return "no input shape in the program; verify built it for token sequences of any length"
    return None


def reference(model, seed: int) -> dict:
    """What the other builds need from this one: its layers, weights, a batch and its outputs."""
    batch = runtime.make_inputs(model, runtime.BATCH, np.random.default_rng(seed))
    outputs = runtime._numpy_outputs(runtime._forward(model, batch))
    leaves = runtime.leaves(model)
    layers = [runtime.layer_record(layer) for layer in leaves]
    # what each layer's output is on the batch, where its declared shape (Keras 3: compute_output_shape's) says else
    for record, computed in zip(layers, shapes.computed_shapes(model, leaves, batch, runtime._forward)):
        if computed is not None and not shapes.fits(record["output_shape"], computed):
            record["computed"] = computed
    return {"layers": layers,
            "top_layers": [runtime.layer_record(layer) for layer in model.layers],
            "totals": runtime.model_totals(model), "weights": arrays.pack_weights(leaves),
            "input_shapes": [list(tensor.shape) for tensor in model.inputs],
            "inputs": arrays.pack(batch), "outputs": arrays.pack(outputs)}


def same_noise(model, given: dict) -> None:
    """For a model whose outputs are random at inference (another pass on the reference's batch gives other values),
    add its outputs with the noise `noise.same_noise` draws, which the tf-keras oracle draws alike; nothing when the
    outputs are not random, or stay random with that noise (a random source it does not replace). TensorFlow only."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    if not any(isinstance(layer, keras.layers.Lambda) or not type(layer).__module__.startswith("keras.")
               for layer in runtime.leaves(model)):
        return  # Keras's own layers draw no noise at inference: only a Lambda or a program's layer can
    batch = arrays.unpack(given["inputs"])
    passes = []
    for seed in noise.CHECK_SEEDS:  # two passes from two seeds: random outputs differ
        keras.utils.set_random_seed(seed)
        passes.append(runtime._numpy_outputs(runtime._forward(model, batch)))
    if noise.same(*passes):
        return
    with noise.same_noise(noise.KERAS3):
        keras.utils.set_random_seed(noise.CHECK_SEEDS[0])
        first = runtime._numpy_outputs(runtime._forward(model, batch))
        keras.utils.set_random_seed(noise.CHECK_SEEDS[1])
        second = runtime._numpy_outputs(runtime._forward(model, batch))
    if noise.same(first, second):
        given["same_noise"] = arrays.pack(first)


def compare(model, given: dict) -> tuple[float | None, str | None]:
    """Load the reference's weights and compare outputs on its batch."""
    problem = arrays.load_weights(runtime.leaves(model), model, given["weights"])
    if problem is not None:
        return None, problem
    outputs = runtime._numpy_outputs(runtime._forward(model, arrays.unpack(given["inputs"])))
    return arrays.difference(arrays.unpack(given["outputs"]), outputs)


def build_model(name: str, side: runtime.Side, job: dict) -> dict:
    seed = job.get("seed", 0)
    record: dict = {"name": name, "built": False, "max_output_diff": None, "trained": False, "loss": [], "error": None,
                    "notes": [], "differences": []}
    model = side.models.get(name)
    if model is None:
        record["error"] = side.failed.get(name) or _error("Missing", f"the migrated program has no model named {name!r}")
        return record
    started = time.perf_counter()
    given = (job.get("references") or {}).get(name)
    try:
        note = _build(model) or runtime.build_from_fit([model], side.fit_shapes.get(name))
        if note:
            record["notes"].append(note)
        if not runtime._has_inputs(model):
            record["error"] = _error("NotBuilt", "the model has no input shape, so it was never built; give its first layer an input shape")
            return record
        record["built"] = True
        if job.get("references") is None:
            record["reference"] = reference(model, seed)
            same_noise(model, record["reference"])
        elif given is None:
            record["error"] = _error("Missing", "the TensorFlow build has no such model to compare with")
        else:
            record["max_output_diff"], problem = compare(model, given)
            if problem:
                record["differences"].append(problem)
    except Exception as exc:  # noqa: BLE001 - one model's failure never stops the others
        record["error"] = runtime._error(exc, "", [], "compare")
        record["error"]["message"] = f"building: {record['error']['message']}"
    if record["built"] and job.get("train"):
        runtime.train_into(record, model, job, seed)
    record["time"] = round(time.perf_counter() - started, 3)
    return record


def build_file(job: dict, progress: Callable[[str, int], None]) -> dict:
    """Run the migrated slice and build (compare, train) each of its models."""
    migrated = dict(job["migrated"], seed=job.get("seed", 0))
    side = runtime.run_side(migrated, "migrated", False, progress)
    if side.failed and migrated.get("whole"):
        # as `runtime.verify_file` does: the slice may leave out what a model needs, the module up to it does not
        retry = runtime.run_side(migrated, "migrated", False, progress, whole=True)
        side = retry if len(retry.models) > len(side.models) else side
    names = _names(side, job["migrated"]["sites"])
    seen = {id(side.failed[name]) for name in names if name in side.failed}
    errors = list(side.errors)
    for error in side.failed.values():
        if id(error) not in seen:
            seen.add(id(error))
            errors.append(error)
    return {"models": [build_model(name, side, job) for name in names], "errors": errors}
