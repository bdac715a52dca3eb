"""Inside the tf-keras worker (TF_USE_LEGACY_KERAS=1): run the original program against the real Keras 2, the
`tf-keras` package, and compare each of its models with the TensorFlow build of the migrated program (layers,
parameters, and outputs on that build's batch once its weights are copied in). The oracle for Keras 2 code."""

from __future__ import annotations

import ast
import builtins
import importlib
import linecache
from typing import Callable

import numpy as np
import tensorflow as tf
import tf_keras
from tf_keras.src.engine import base_layer

from kerasfix.verify import arrays, backend_function, inputs, noise, runtime
from kerasfix.verify import shapes as declared_shapes
from kerasfix.verify.sandbox import ProgramExit


def _keras2_optimizers() -> None:
    """Keras 2 programs pass `decay` (and `lr`) to optimizers, which tf-keras's default optimizers (those of Keras
    2.11 on) refuse: the oracle's are the earlier ones tf-keras keeps as `optimizers.legacy`. They are only
    compiled here (the migrated program is the one trained), so this changes no output."""
    legacy = tf_keras.optimizers.legacy
    for module in {id(m): m for m in (tf_keras.optimizers, tf.keras.optimizers)}.values():
        for name in dir(legacy):
            value = getattr(legacy, name)
            if isinstance(value, type) and name != "Optimizer" and hasattr(module, name):
                setattr(module, name, value)


_keras2_optimizers()


def _keras2_function() -> None:
    """`K.function(inputs, outputs)` as Keras 2 took it: tf-keras builds, in eager mode, a model from `inputs` to
    `outputs` and returns a closure over it; the learning phase among the inputs (`K.function([x,
    K.learning_phase()], ...)`, which Keras 2 fed to its graph) is the number 0 in eager tf-keras, which that model
    refuses. The oracle's `K.function` takes it out of the inputs and runs the model in training mode when the program
    passes 1, as Keras 2 did; the function it returns says which model it runs (`backend_function`)."""
    from kerasfix.verify.backend_function import BackendFunction, learning_phase_positions

    real = tf_keras.backend.function

    def function(inputs, outputs, updates=None, name=None, **kwargs):
        given = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        phase_at = learning_phase_positions(given)
        tensors = [t for index, t in enumerate(given) if index not in phase_at]
        func = real(tensors if phase_at else inputs, outputs, updates=updates, name=name, **kwargs)
        names = getattr(getattr(func, "__code__", None), "co_freevars", ())
        if "model" not in names:
            return func  # not the eager closure: left as tf-keras made it
        model = func.__closure__[names.index("model")].cell_contents
        wrap = isinstance(outputs, list) and len(outputs) == 1

        def run(values, training):
            if not training:
                return func(values)
            result = model(values, training=True)
            return [np.asarray(item) for item in tf.nest.flatten(result)] if wrap or isinstance(result, (list, tuple)) else np.asarray(result)

        return BackendFunction(model, phase_at, run)

    function.__doc__ = real.__doc__
    for module in {id(m): m for m in (tf_keras.backend, importlib.import_module("tf_keras.src.backend"))}.values():
        if getattr(module, "function", None) is real:
            module.function = function


_keras2_function()


PRIVATE_ROOT = "tensorflow.python.keras"  # where tf.keras lived inside TensorFlow up to 2.5; tf-keras carries it on


def _keras2_import(real: Callable) -> Callable:
    """An `__import__` under which `keras` means tf-keras (`tensorflow.keras` already does, by TF_USE_LEGACY_KERAS),
    and so does `from tensorflow.python.keras... import x`: TensorFlow's private copy of Keras 2, which code of the
    TensorFlow 2.0-2.5 years imports from, is a frozen remnant in today's TensorFlow (no `LSTM`, say), while
    tf-keras's modules (`tf_keras.src...`) are its continuation."""

    def keras2_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] == "keras":
            module = importlib.import_module("tf_keras" + name[len("keras"):])
            return module if fromlist else tf_keras
        if level == 0 and fromlist and (name == PRIVATE_ROOT or name.startswith(PRIVATE_ROOT + ".")):
            try:
                return importlib.import_module("tf_keras.src" + name[len(PRIVATE_ROOT):])
            except ImportError:
                pass  # a module tf-keras does not have: TensorFlow's own, as the program asked
        return real(name, globals, locals, fromlist, level)

    return keras2_import


def run_original(job_side: dict, progress: Callable[[str, int], None], whole: bool = False) -> runtime.Side:
    """The original slice (with `whole`, the module up to its models) statement by statement, as
    `runtime.run_side` runs it, against tf-keras."""
    filename = f"<kerasfix-verify original: {job_side['file']}>"
    text = job_side["text"]
    lines = text.splitlines()
    linecache.cache[filename] = (len(text), None, [line + "\n" for line in lines], filename)
    inputs.begin_side("original")
    tf_keras.backend.clear_session()
    tf_keras.backend.set_image_data_format("channels_last")
    tf_keras.backend.set_floatx("float32")
    tf_keras.utils.set_random_seed(job_side.get("seed", 0))
    namespace: dict = {"__name__": "__kerasfix_verify__", "__file__": job_side.get("path", filename),
                       "__builtins__": {**vars(builtins), "__import__": _keras2_import(builtins.__import__)}}
    side = runtime.Side("original")

    def attempt(run: Callable[[], object], defines: list[str]) -> object:
        try:
            return run()
        except (Exception, SystemExit, ProgramExit) as exc:  # noqa: BLE001
            error = runtime._error(exc, filename, lines, "original")
            if not defines:
                side.errors.append(error)
            for name in defines:
                side.failed[name] = error
            return None

    for unit in job_side["whole" if whole else "units"]:
        blocked = [name for name in unit["uses"] if name in side.failed]
        if blocked and unit.get("optional"):
            continue
        if blocked:
            for name in unit["defines"]:
                side.failed.setdefault(name, side.failed[blocked[0]])
            continue
        progress("original", unit["line"])
        tree = ast.parse(unit["code"], filename, "exec")
        ast.increment_lineno(tree, unit["line"] - 1)
        run = lambda tree=tree: exec(compile(tree, filename, "exec"), namespace)  # noqa: E731, S102
        runtime.quietly(run) if unit.get("optional") else attempt(run, unit["defines"])
    seen: set[int] = set()
    for name, value in list(namespace.items()):
        # each model once, under its first name, as `runtime.run_side` lists them (`for m in (a, b):` leaves `m`
        # naming `b`, which is not another model)
        if isinstance(value, tf_keras.Model) and not name.startswith("_") and name not in side.failed and id(value) not in seen:
            seen.add(id(value))
            side.models.setdefault(name, value)
    runtime.backend_functions(side, namespace, job_side["sites"])
    for name in job_side["functions"]:
        call = f"{name}()"
        if name in side.failed:
            side.failed[call] = side.failed[name]
            continue
        progress("original", job_side["sites"].get(call, 0))
        result = attempt(lambda name=name: namespace[name](), [call])
        several = isinstance(result, (tuple, list))
        for index, item in enumerate(result if several else [result]):
            if isinstance(item, tf_keras.Model):
                side.models[f"{call}[{index}]" if several else call] = item
    return side


def leaves(model) -> list:
    """The model's layers in order, nested models expanded, inputs left out (`runtime.leaves` for tf-keras)."""
    found: list = []
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.InputLayer):
            continue
        found.extend(leaves(layer) if isinstance(layer, tf_keras.Model) else [layer])
    return list({id(layer): layer for layer in found}.values())


def _shape(shape) -> list | None:
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, tf.TensorShape)):
        shapes = [_shape(s) for s in shape]
        return shapes[0] if len(shapes) == 1 else shapes
    return tf.TensorShape(shape).as_list()


def layer_record(layer) -> dict:
    try:
        shape = _shape(layer.get_output_shape_at(0))
    except (RuntimeError, ValueError, AttributeError):
        shape = None
    record = {"name": layer.name, "type": runtime.kind(layer), "output_shape": shape, "params": runtime.params(layer)}
    if isinstance(layer, base_layer.AddLoss):  # what `model.add_loss(tensor)` makes of a loss computed from tensors
        record["loss_layer"] = "keras2"
    return record


def _outputs(model, batch: list[np.ndarray]) -> list[np.ndarray]:
    result = model.predict_on_batch(batch[0] if len(batch) == 1 else batch)
    return [np.asarray(item) for item in tf.nest.flatten(result)]


def _with_same_noise(run: Callable[[], list], given: dict, model) -> list | None:
    """The original's outputs with the noise the migrated build drew for outputs random at inference (`noise`), when
    the migrated build has such outputs and the original's are the same on two passes with that noise; else None."""
    if given.get("same_noise") is None:
        return None
    model.predict_function = None  # traced again, with the noise replaced (and again after, without)
    try:
        with noise.same_noise(noise.TF_KERAS):
            tf_keras.utils.set_random_seed(noise.CHECK_SEEDS[0])
            first = run()
            tf_keras.utils.set_random_seed(noise.CHECK_SEEDS[1])
            second = run()
    finally:
        model.predict_function = None
    return first if noise.same(first, second) else None


def compare_model(name: str, side: runtime.Side, given: dict | None) -> dict:
    record: dict = {"name": name, "built": False, "shapes_match": None, "params_match": None, "max_output_diff": None,
                    "error": None, "notes": [], "differences": []}
    model = side.models.get(name)
    if model is None:
        error = side.failed.get(name)
        record["error"] = (dict(error, message="the original does not build under tf-keras (Keras 2): " + error["message"])
                           if error else {"type": "Missing", "message": f"the original program has no model named {name!r}",
                                          "line": None, "source": None, "side": "original"})
        return record
    if given is None:
        record["unbuilt"] = not (model.built and model.inputs)  # the original states no input shape either
        return record  # the migrated build failed: its record says why
    try:
        if not model.built and given.get("input_shapes"):
            shapes = [tuple(shape) for shape in given["input_shapes"]]
            model.build(shapes[0] if len(shapes) == 1 else shapes)
        if not model.built:
            record["error"] = {"type": "NotBuilt", "message": "the original model has no input shape, so it was never built",
                               "line": None, "source": None, "side": "original"}
            return record
        record["built"] = True
        found = leaves(model)
        a = [layer_record(layer) for layer in found]
        totals = runtime.model_totals(model)
        shapes_ok, params_ok, differences = runtime.compare_layers(a, given["layers"])
        for note in (runtime.loss_layers(a, given["layers"])[2], runtime.identity_note(a, given["layers"]),
                     declared_shapes.declared_note(runtime.declared_layers(a, given["layers"]))):
            if note:
                record["notes"].append(note)
        record.update(shapes_match=shapes_ok, params_match=params_ok and totals == given["totals"], differences=differences,
                      layers={"original": a, "migrated": given["layers"]},
                      params={"original": totals["total"], "migrated": given["totals"]["total"],
                              "trainable": [totals["trainable"], given["totals"]["trainable"]]})
        problem = arrays.load_weights(found, model, given["weights"])
        if problem is None:
            batch = arrays.unpack(given["inputs"])
            function = side.functions.get(name)
            if function is not None:  # the original's K.function, called as the program calls it
                record["notes"].append(backend_function.note(name, function))
                run = lambda: [np.asarray(item) for item in tf.nest.flatten(function(function.arguments(batch)))]  # noqa: E731
            else:
                run = lambda: _outputs(model, batch)  # noqa: E731
            expected = run()
            compared = _with_same_noise(run, given, model)
            if compared is not None:
                record["notes"].append(noise.NOTE)
                record["max_output_diff"], problem = arrays.difference(compared, arrays.unpack(given["same_noise"]))
            else:
                record["max_output_diff"], problem = runtime.without_random_outputs(
                    expected, arrays.unpack(given["outputs"]), run, record["notes"], arrays.difference)
        if problem:
            record["differences"].append(problem)
    except Exception as exc:  # noqa: BLE001 - one model's failure never stops the others
        record["error"] = runtime._error(exc, "", [], "compare")
        record["error"]["message"] = f"comparing with tf-keras: {record['error']['message']}"
    return record


def oracle_file(job: dict, progress: Callable[[str, int], None]) -> dict:
    """Run the original against tf-keras and compare each model with the migrated build's reference."""
    original = dict(job["original"], seed=job.get("seed", 0))
    side = run_original(original, progress)
    if side.failed and original.get("whole"):
        retry = run_original(original, progress, whole=True)
        side = retry if len(retry.models) > len(side.models) else side
    references = job.get("references") or {}
    names = list(dict.fromkeys([*side.models, *references, *(n for n in side.failed if n in job["original"]["sites"])]))
    models = [compare_model(name, side, references.get(name)) for name in names]
    unnamed = {id(error): error for name, error in side.failed.items() if name not in names}
    return {"models": models, "errors": list(side.errors) + list(unnamed.values())}
