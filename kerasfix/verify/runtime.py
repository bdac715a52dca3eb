"""Inside the worker: run both slices, compare each model pair, copy weights, compare outputs, train."""

from __future__ import annotations

import ast
import linecache
import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import keras

from kerasfix.verify import compat, inputs, results
from kerasfix.verify import shapes as declared_shapes
from kerasfix.verify.sandbox import ProgramExit

BATCH = 4
TRAIN_BATCH = 8
SEQUENCE_LENGTH = 8  # for input dimensions a model leaves open
COMPARE_SEED = 1  # the seed both sides' inference passes start from
RANDOM_CHECK_SEED = 7919  # the seed of a second inference pass that tells outputs random at inference


@dataclass
class Side:
    """One program (original or migrated) after running its slice."""

    label: str
    models: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, dict] = field(default_factory=dict)  # name -> error
    errors: list[dict] = field(default_factory=list)  # failures not tied to a name
    fit_shapes: dict[str, tuple] = field(default_factory=dict)  # model -> the shape of the data passed to its fit
    functions: dict[str, Any] = field(default_factory=dict)  # name -> the original's K.function its model stands for


def backend_functions(side: Side, namespace: dict, sites: dict) -> None:
    """The original's `K.function`s that the migration made Keras models (names the migrated program builds a model
    under, `extract(also=...)`): each is compared as the model it runs, its outputs those of the function itself."""
    from kerasfix.verify.backend_function import BackendFunction

    for name, value in list(namespace.items()):
        if isinstance(value, BackendFunction) and name in sites and name not in side.models and name not in side.failed:
            side.models[name] = value.model
            side.functions[name] = value


def _error(exc: BaseException, filename: str, text_lines: list[str], side: str) -> dict:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    if isinstance(exc, SystemExit):
        message = f"the program called sys.exit({exc.code!r}); verify stops the file's models here"
        kind = "SystemExit"
    else:
        message = str(exc).strip() or repr(exc)
        kind = type(exc).__name__
    if "NHWC tensor format on the CPU" in message:
        message = ("TensorFlow runs channels_first convolutions only on a GPU, so this model cannot run here; "
                   "verify it on a machine with a GPU (--device gpu)")
    if len(message) > 600:
        # the head says where; the tail says what (an error that quotes the user's code ends with its exception)
        message = message[:300] + " ... " + message[-300:]
    source = text_lines[line - 1].strip() if line and 0 < line <= len(text_lines) else None
    error = {"type": kind, "message": message, "line": line, "source": source, "side": side}
    skip = inputs.skip_reason(exc, message)
    if skip:
        error["skip"] = skip
    return error


def _execute(unit: dict, filename: str, namespace: dict) -> None:
    tree = ast.parse(unit["code"], filename, "exec")
    ast.increment_lineno(tree, unit["line"] - 1)
    exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - running user code is the point of verify


def quietly(run: Callable[[], object]) -> None:
    """Run a statement kept only for the data passed to `fit`: its failure fails nothing (that data stays unknown)."""
    try:
        run()
    except (Exception, SystemExit, ProgramExit):  # noqa: BLE001
        pass


def forget_packages() -> None:
    """Take the package trees an earlier side or job installed off the import path, with the modules imported
    from them: a later program sees only what is installed."""
    import os
    import sys

    sys.path[:] = [entry for entry in sys.path if not os.path.basename(entry).startswith("kerasfix-package-")]
    sys.meta_path[:] = [finder for finder in sys.meta_path if not getattr(finder, "kerasfix_package", False)]
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or ""
        if f"{os.sep}kerasfix-package-" in where:
            del sys.modules[name]


def install_package(package: dict, label: str, program_builtins=None) -> str:
    """Write the file's package tree (this side's version of every module, and of the `--path` packages it
    imports) into the job directory, the worker's working directory, and import it from there: the side's earlier
    copy and any module of the same top-level names are forgotten first. `program_builtins`: the builtins the
    program runs with (the original's Keras 1/2 compatibility layer, the tf-keras oracle's `import keras`), which
    the package's modules then run with too.
    Returns the `__package__` relative imports resolve against."""
    import importlib.abc
    import importlib.machinery
    import importlib.util
    import os
    import sys

    forget_packages()

    folder = os.path.join(os.getcwd(), f"kerasfix-package-{label}")
    for relative, text in package["files"].items():
        target = os.path.normpath(os.path.join(folder, relative))
        if not target.startswith(folder + os.sep):
            continue  # never outside the job directory
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    tops = tuple(package.get("tops") or [package["top"]])

    def ours(name: str) -> bool:
        return name.split(".", 1)[0] in tops

    for name in [n for n in sys.modules if ours(n)]:
        del sys.modules[name]
    sys.path.insert(0, folder)
    if isinstance(program_builtins, dict):

        class Loader(importlib.machinery.SourceFileLoader):
            def exec_module(self, module) -> None:
                module.__dict__["__builtins__"] = program_builtins
                super().exec_module(module)

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if not ours(name):
                    return None
                spec = importlib.machinery.PathFinder.find_spec(name, path or [folder])
                if spec is None or not (spec.origin or "").startswith(folder + os.sep):
                    return spec
                return importlib.util.spec_from_file_location(name, spec.origin, loader=Loader(name, spec.origin),
                                                              submodule_search_locations=spec.submodule_search_locations)

        Finder.kerasfix_package = True
        sys.meta_path.insert(0, Finder())
    importlib.invalidate_caches()
    return package["package"]


def run_side(job_side: dict, label: str, original: bool, progress: Callable[[str, int], None], whole: bool = False) -> Side:
    """Run a slice (with `whole`, the module up to its models) statement by statement; a failing statement fails
    only the names that depend on it, and a failing statement kept only for the data passed to `fit` nothing."""
    filename = f"<kerasfix-verify {label}: {job_side['file']}>"
    text = job_side["text"]
    lines = text.splitlines()
    linecache.cache[filename] = (len(text), None, [line + "\n" for line in lines], filename)
    compat.reset()
    inputs.begin_side(label)
    keras.backend.clear_session()
    keras.utils.set_random_seed(job_side.get("seed", 0))
    namespace: dict = {"__name__": "__kerasfix_verify__", "__file__": job_side.get("path", filename)}
    if original:
        namespace["__builtins__"] = compat.builtins_for_original()
    forget_packages()
    if job_side.get("package"):
        namespace["__package__"] = install_package(job_side["package"], label)
    side = Side(label)
    for unit in job_side["whole" if whole else "units"]:
        blocked = [name for name in unit["uses"] if name in side.failed]
        if blocked and unit.get("optional"):
            continue
        if blocked:
            cause = side.failed[blocked[0]]
            for name in unit["defines"]:
                side.failed.setdefault(name, cause)
            continue
        progress(label, unit["line"])
        run = lambda unit=unit: _execute(unit, filename, namespace)  # noqa: E731
        if unit.get("optional"):
            quietly(run)
            continue
        try:
            run()
        except (Exception, SystemExit, ProgramExit) as exc:  # noqa: BLE001
            error = _error(exc, filename, lines, label)
            if not unit["defines"]:
                side.errors.append(error)
            for name in unit["defines"]:
                side.failed[name] = error
    seen: set[int] = set()
    for name, value in list(namespace.items()):
        if isinstance(value, keras.Model) and not name.startswith("_") and name not in side.failed and id(value) not in seen:
            seen.add(id(value))
            side.models[name] = value
            if original:
                compat.apply_initial_weights(leaves(value))
    if original:
        backend_functions(side, namespace, job_side["sites"])
    for name, data in job_side.get("fit_inputs", {}).items():
        shape = getattr(namespace.get(data), "shape", None)
        if shape is not None and len(shape) >= 2:
            side.fit_shapes[name] = (data, tuple(None if d is None else int(d) for d in shape))
    calls = [(f"{name}()", name, None) for name in job_side["functions"]]
    calls += [(expression, expression.split("(", 1)[0].strip(), expression) for expression in job_side.get("calls", [])]
    for key, name, expression in calls:
        if name in side.failed:
            side.failed[key] = side.failed[name]
            continue
        progress(label, job_side["sites"].get(key, 0))
        try:
            if expression is None:
                result = namespace[name]()
            else:  # a builder call the user gave (`--call`) or a placeholder call: evaluated in the program's namespace
                result = eval(compile(expression, filename, "eval"), namespace)  # noqa: S307 - running user code is the point
        except (Exception, SystemExit, ProgramExit) as exc:  # noqa: BLE001
            side.failed[key] = _error(exc, filename, lines, label)
            continue
        if original:
            for item in result if isinstance(result, (tuple, list)) else [result]:
                if isinstance(item, keras.Model):
                    compat.apply_initial_weights(leaves(item))
        if isinstance(result, keras.Model):
            side.models[key] = result
        elif isinstance(result, (tuple, list)):
            for index, item in enumerate(result):
                if isinstance(item, keras.Model):
                    side.models[f"{key}[{index}]"] = item
    return side


# ---------------------------------------------------------------------------------------------
# layers


def kind(layer) -> str:
    """The Keras class a layer is, seen through the compatibility subclasses."""
    for cls in type(layer).__mro__:
        if "_kerasfix_compat" in cls.__dict__:
            continue
        return cls.__name__
    return type(layer).__name__


def leaves(model) -> list:
    """The model's layers in order, nested models (and Keras 1 Merge branches) expanded, inputs left out."""
    found: list = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            found.extend(leaves(layer))
            continue
        found.append(layer)
    unique: list = []
    ids: set[int] = set()
    for layer in found:
        if id(layer) not in ids:
            ids.add(id(layer))
            unique.append(layer)
    return unique


def _shape(shape) -> list | None:
    if shape is None:
        return None
    return [None if d is None else int(d) for d in shape]


def output_shapes(layer) -> list | None:
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if not nodes:
        return None
    shapes = [_shape(t.shape) for t in keras.tree.flatten(nodes[0].output_tensors)]
    return shapes[0] if len(shapes) == 1 else shapes


def params(layer) -> int | None:
    try:
        return int(layer.count_params()) if layer.built else None
    except ValueError:
        return None


# The first words of the docstring of the layer the migration writes where Keras 2 added a loss computed from a
# model's tensors (KF347 `model.add_loss(loss)`, KF349 a loss function reading the model's tensors): a layer
# `AddLoss` whose `call()` adds its second input as a loss and returns its first (kerasfix/checks/guide_transforms.py).
MIGRATION_LOSS_LAYER = ("AddLoss", "Adds its second input to the model's losses and returns its first")


def migration_loss_layer(layer) -> bool:
    """Is this the loss layer the migration writes (a class of the program named `AddLoss` with its docstring)?"""
    cls = type(layer)
    name, doc = MIGRATION_LOSS_LAYER
    return cls.__name__ == name and (cls.__doc__ or "").startswith(doc) and not layer.weights


def layer_record(layer) -> dict:
    record = {"name": layer.name, "type": kind(layer), "output_shape": output_shapes(layer), "params": params(layer)}
    if migration_loss_layer(layer):
        record["loss_layer"] = "migration"
    return record


def model_totals(model) -> dict:
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return {"total": trainable + frozen, "trainable": trainable, "non_trainable": frozen}


# Layers that are the identity at inference and hold no weights: a migration may add or drop them
# (Keras 1 `Embedding(dropout=)` becomes a SpatialDropout1D) without changing shapes, weights or outputs.
IDENTITY_AT_INFERENCE = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
    "AlphaDropout", "ActivityRegularization",
})


# The layers Keras 2's functional API (tf-keras) makes of a TensorFlow function called on its tensors
# (`tf.reduce_mean(x, 1)`, `x[:, 0]`, `x.shape`): no weights, an operation rather than a layer of the program.
# Keras 3 makes none of `keras.ops` calls, so they are left out of the layer-by-layer comparison (the outputs
# still compare the operations).
OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda", "ClassMethod", "InstanceMethod", "InstanceProperty"})


def structural(records: list[dict]) -> list[dict]:
    return [r for r in records if r["type"] not in IDENTITY_AT_INFERENCE
            and not (r["type"] in OP_LAYERS and not r.get("params"))]


def identity_note(original: list[dict], migrated: list[dict]) -> str | None:
    notes = []
    a = [r["type"] for r in original if r["type"] in IDENTITY_AT_INFERENCE]
    b = [r["type"] for r in migrated if r["type"] in IDENTITY_AT_INFERENCE]
    if a != b:
        notes.append(f"inference-only layers differ ({', '.join(a) or 'none'} in the original, {', '.join(b) or 'none'} "
                     "after migration); they change training noise, not shapes, weights or outputs")
    ops = [r["type"] for r in [*original, *migrated] if r["type"] in OP_LAYERS and not r.get("params")]
    if ops:
        notes.append(f"{len(ops)} layer(s) Keras 2 makes of TensorFlow functions called on its tensors "
                     f"({', '.join(sorted(set(ops)))}) are compared through the outputs, not one by one")
    return "; ".join(notes) or None


def loss_layers(original: list[dict], migrated: list[dict]) -> tuple[list[dict], list[dict], str | None]:
    """Both sides' layers without the weightless loss layers that stand for one another, and a note saying so.
    The migration writes a layer `AddLoss` where Keras 2 added a loss computed from the model's tensors (KF347,
    KF349): it passes the model's outputs through, so it is left out of the layer-by-layer comparison, and so is,
    one for one, the `AddLoss` layer Keras 2's own `model.add_loss(tensor)` made in the original (tf-keras). An
    original's loss layer with no migrated counterpart stays: the comparison then fails, as it should."""
    added = [r for r in migrated if r.get("loss_layer") == "migration" and not r.get("params")]
    if not added:
        return original, migrated, None
    keras2 = [r for r in original if r.get("loss_layer") == "keras2" and not r.get("params")][:len(added)]
    drop = {id(r) for r in [*added, *keras2]}
    note = (f"the migration added the loss layer{'s' if len(added) > 1 else ''} "
            f"{', '.join(repr(r['name']) + ' (' + r['type'] + ')' for r in added)}: a weightless layer of the migrated "
            "program whose call() adds the loss computed from the model's tensors and returns the model's outputs")
    note += (f", where the original's add_loss made {', '.join(repr(r['name']) + ' (' + r['type'] + ')' for r in keras2)}"
             if keras2 else "; the original computes that loss in its loss function or with add_loss")
    note += "; compared the other layers one by one"
    return [r for r in original if id(r) not in drop], [r for r in migrated if id(r) not in drop], note


def declared_layers(original: list[dict], migrated: list[dict]) -> list[tuple[int, dict, dict]]:
    """The layers whose declared shape alone differs (kerasfix/verify/shapes.py), paired as `compare_layers` pairs
    them: (position, original record, migrated record)."""
    original, migrated, _ = loss_layers(original, migrated)
    original, migrated = structural(original), structural(migrated)
    return [(index, a, b) for index, (a, b) in enumerate(zip(original, migrated), start=1)
            if declared_shapes.declared_only(a, b)]


def compare_layers(original: list[dict], migrated: list[dict]) -> tuple[bool, bool, list[str]]:
    """(shapes and types match, parameter counts match, differences in words), inference-only layers and the
    migration's loss layers (`loss_layers`) aside."""
    original, migrated, _ = loss_layers(original, migrated)
    original, migrated = structural(original), structural(migrated)
    differences: list[str] = []
    shapes_ok = params_ok = True
    if len(original) != len(migrated):
        differences.append(f"{len(original)} layers in the original, {len(migrated)} after migration")
        shapes_ok = params_ok = False
    for index, (a, b) in enumerate(zip(original, migrated), start=1):
        if (a["type"] != b["type"] or a["output_shape"] != b["output_shape"]) and not declared_shapes.declared_only(a, b):
            shapes_ok = False
            differences.append(
                f"layer {index}: {a['type']} {_fmt(a['output_shape'])} became {b['type']} {_fmt(b['output_shape'])}"
            )
        if a["params"] != b["params"]:
            params_ok = False
            differences.append(f"layer {index} ({b['type']} {b['name']}): {a['params']} parameters became {b['params']}")
    return shapes_ok, params_ok, differences


def _fmt(shape) -> str:
    if shape is None:
        return "(?)"
    if shape and isinstance(shape[0], list):
        return ", ".join(_fmt(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# ---------------------------------------------------------------------------------------------
# weights, inputs and outputs


def copy_weights(source, target) -> str | None:
    """Copy weights layer by layer (in order) when every shape matches, else the whole list; None when done."""
    a = [l for l in leaves(source) if l.weights]
    b = [l for l in leaves(target) if l.weights]
    if len(a) == len(b):
        pairs = [(x, y) for x, y in zip(a, b)]
        if all([w.shape for w in x.get_weights()] == [w.shape for w in y.get_weights()] for x, y in pairs):
            for x, y in pairs:
                if x.get_weights():
                    y.set_weights(x.get_weights())
            return None
    weights = source.get_weights()
    if [w.shape for w in weights] == [w.shape for w in target.get_weights()]:
        target.set_weights(weights)
        return None
    return "the weights could not be copied: their shapes differ"


def _embedding_inputs(model) -> dict[int, int]:
    """Input index -> the vocabulary size of an Embedding that reads it."""
    found: dict[int, int] = {}
    try:
        inputs = list(model.inputs)
    except (AttributeError, ValueError):
        return found
    targets = {id(t): index for index, t in enumerate(inputs)}
    _walk_embeddings(model, targets, found)
    return found


def _walk_embeddings(model, targets: dict[int, int], found: dict[int, int]) -> None:
    for layer in model.layers:
        for node in getattr(layer, "_inbound_nodes", []) or []:
            tensors = keras.tree.flatten(node.input_tensors)
            for position, tensor in enumerate(tensors):
                index = targets.get(id(tensor))
                if index is None:
                    continue
                if isinstance(layer, keras.layers.Embedding):
                    found[index] = min(found.get(index, layer.input_dim), layer.input_dim)
                elif isinstance(layer, keras.Model) and position < len(getattr(layer, "inputs", []) or []):
                    inner = {id(layer.inputs[position]): index}
                    _walk_embeddings(layer, inner, found)


def fixed_batch(model) -> int | None:
    """The batch size the model's inputs declare (`Input(batch_shape=(100, 784))`, a stateful RNN's
    `batch_input_shape`): the program's ops may rely on it (a sampling Lambda drawing noise of that shape)."""
    sizes = set()
    for tensor in getattr(model, "inputs", None) or []:
        shape = tuple(getattr(tensor, "shape", ()) or ())
        if not shape or shape[0] is None:
            return None
        sizes.add(int(shape[0]))
    return sizes.pop() if len(sizes) == 1 else None


def make_inputs(model, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    batch = fixed_batch(model) or batch
    vocabularies = _embedding_inputs(model)
    if not vocabularies and any(isinstance(l, keras.layers.Embedding) for l in leaves(model)):
        smallest = min(l.input_dim for l in leaves(model) if isinstance(l, keras.layers.Embedding))
        vocabularies = {index: smallest for index, t in enumerate(model.inputs) if len(t.shape) <= 2}
    arrays = []
    for index, tensor in enumerate(model.inputs):
        shape = [batch] + [SEQUENCE_LENGTH if d is None else int(d) for d in tensor.shape[1:]]
        dtype = str(tensor.dtype)
        if index in vocabularies:
            arrays.append(rng.integers(0, vocabularies[index], size=shape).astype(dtype))
        elif "int" in dtype or "bool" in dtype:
            arrays.append(rng.integers(0, 2, size=shape).astype(dtype))
        else:
            arrays.append(rng.standard_normal(size=shape).astype(dtype))
    return arrays


def _feed(arrays: list[np.ndarray]):
    return arrays[0] if len(arrays) == 1 else arrays


def _numpy_outputs(outputs) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(o)) for o in keras.tree.flatten(outputs)]


def _forward(model, arrays: list[np.ndarray]):
    """One inference pass as a graph: eager recurrent layers step through time op by op, many times slower."""
    if keras.backend.backend() != "tensorflow":  # JAX and PyTorch workers (`verify --backend`) never import TensorFlow
        return model.predict_on_batch(_feed(arrays))
    import tensorflow as tf

    return tf.function(lambda inputs: model(inputs, training=False))(_feed(arrays))


def _max_diff(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0


def without_random_outputs(expected: list[np.ndarray], actual: list[np.ndarray], again: Callable[[], list[np.ndarray]],
                           notes: list[str], difference: Callable) -> tuple[float | None, str | None]:
    """`difference(expected, actual)`, leaving out the outputs that are random at inference: those the original
    (`again()` runs it a second time on the same input) gives other values for. A sampling layer draws new noise on
    every call, so no two programs can be expected to agree there; the other outputs are still compared."""
    diff, problem = difference(expected, actual)
    if problem is not None and diff is None or (diff is not None and diff <= results.TOLERANCE):
        return diff, problem
    second = again()
    if len(second) != len(expected):
        return diff, problem
    random = [i for i, (x, y) in enumerate(zip(expected, second))
              if np.shape(x) == np.shape(y) and not np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)]
    if not random:
        return diff, problem
    kept = [i for i in range(len(expected)) if i not in random]
    if not kept:
        return None, ("every output is random at inference (the original gives other values on the same input), "
                      "so no output can be compared")
    numbers = ", ".join(str(i) for i in random)
    notes.append(f"output{'s' if len(random) > 1 else ''} {numbers} of {len(expected)} random at inference (the original "
                 "gives other values on the same input): compared the other outputs")
    return difference([expected[i] for i in kept], [actual[i] for i in kept])


def _max_difference(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float | None, str | None]:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return None, f"the outputs differ in shape: {[x.shape for x in a]} vs {[y.shape for y in b]}"
    return max((_max_diff(x, y) for x, y in zip(a, b)), default=0.0), None


def output_difference(original, migrated, arrays: list[np.ndarray],
                      notes: list[str] | None = None, function=None) -> tuple[float | None, str | None]:
    """`function`: the original's K.function that `original` is the model of; its outputs are the function's."""
    # Both programs run on Keras 3 here (the compatibility layer builds the original): under the same seed, a
    # sampling layer draws the same noise on both sides, so even a random output compares.
    def run_original() -> list[np.ndarray]:
        if function is not None:
            return _numpy_outputs(function(function.arguments(arrays)))
        return _numpy_outputs(_forward(original, arrays))

    keras.utils.set_random_seed(COMPARE_SEED)
    a = run_original()
    keras.utils.set_random_seed(COMPARE_SEED)
    b = _numpy_outputs(_forward(migrated, arrays))

    def again() -> list[np.ndarray]:
        keras.utils.set_random_seed(RANDOM_CHECK_SEED)  # a new graph draws the same noise again under the same seed
        return run_original()

    return without_random_outputs(a, b, again, notes if notes is not None else [], _max_difference)


# ---------------------------------------------------------------------------------------------
# training


def _loss_name(loss) -> str:
    if loss is None:
        return ""
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, keras.losses.Loss):
        name = type(loss).__name__
        fn = getattr(loss, "fn", None)
        if fn is not None and type(loss).__name__ == "LossFunctionWrapper":
            name = getattr(fn, "__name__", name)
    else:
        name = getattr(loss, "__name__", type(loss).__name__)
    return name.replace("_", "").lower()


def _losses_per_output(model) -> list:
    loss = getattr(model, "loss", None)
    outputs = list(model.outputs)
    names = list(getattr(model, "output_names", []) or [])
    if isinstance(loss, dict):
        return [loss.get(name) for name in names] if len(names) == len(outputs) else [None] * len(outputs)
    if isinstance(loss, (list, tuple)):
        return list(loss) + [None] * (len(outputs) - len(loss))
    return [loss] * len(outputs)


def default_loss(model) -> str:
    last = leaves(model)[-1] if leaves(model) else None
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if kind(last) == "Activation":
        activation = getattr(last.activation, "__name__", "")
    if activation == "softmax":
        return "categorical_crossentropy"
    if activation == "sigmoid":
        return "binary_crossentropy"
    return "mean_squared_error"


def _output_activation(model, tensor) -> str:
    """The activation of the layer that produces `tensor` ("" when unknown)."""
    history = getattr(tensor, "_keras_history", None)
    layer = getattr(history, "operation", None) or (history[0] if isinstance(history, tuple) and history else None)
    if layer is None and len(model.outputs) == 1 and leaves(model):
        layer = leaves(model)[-1]
    return getattr(getattr(layer, "activation", None), "__name__", "") if layer is not None else ""


def make_targets(model, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    batch = fixed_batch(model) or batch
    targets = []
    known = ("sparse", "categorical", "kld", "poisson", "binary", "hinge", "meansquared", "meanabsolute", "mse", "mae",
             "huber", "logcosh", "cosine")
    for tensor, loss in zip(model.outputs, _losses_per_output(model)):
        name = _loss_name(loss)
        if loss is not None and not any(word in name for word in known) and name[:2] != "kl":
            # A loss of the program's own (a dice or focal loss): targets in the range the output layer gives,
            # as the program's data would be (a log of 1 - y is finite only for y in [0, 1]).
            activation = _output_activation(model, tensor)
            name = {"sigmoid": "binary", "softmax": "categorical"}.get(activation, name)
        shape = [batch] + [SEQUENCE_LENGTH if d is None else int(d) for d in tensor.shape[1:]]
        classes = shape[-1] if len(shape) > 1 else 1
        if "sparse" in name:
            targets.append(rng.integers(0, max(classes, 1), size=shape[:-1] or [batch]).astype("int32"))
        elif "categorical" in name or "kld" in name or "kl" == name[:2] or "poisson" in name:
            labels = rng.integers(0, max(classes, 1), size=shape[:-1])
            targets.append(np.eye(classes, dtype="float32")[labels])
        elif "binary" in name or "hinge" in name:
            targets.append(rng.integers(0, 2, size=shape).astype("float32"))
        else:
            targets.append(rng.standard_normal(size=shape).astype("float32"))
    return targets


def _device(device: str):
    """`tf.device` on TensorFlow; JAX and PyTorch place models on their own default device."""
    if keras.backend.backend() != "tensorflow":
        import contextlib

        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device(device)


def train(model, steps: int, device: str, rng: np.random.Generator) -> tuple[list[float], str | None]:
    """Losses of `steps` training steps on synthetic data; a note when verify chose the loss itself."""
    note = None
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        loss = default_loss(model)
        model.compile(optimizer="adam", loss=loss)
        note = f"not compiled by the program; trained with adam and {loss}"
    x = make_inputs(model, TRAIN_BATCH, rng)
    y = make_targets(model, TRAIN_BATCH, rng)
    losses: list[float] = []
    with _device(device):
        optimizer = model.optimizer
        if not getattr(optimizer, "built", True):
            # fit() builds the optimizer before its first step; doing the same spares tf.function a second trace
            optimizer.build(model.trainable_variables)
        for _ in range(steps):
            result = model.train_on_batch(_feed(x), _feed(y))
            value = result[0] if isinstance(result, (list, tuple)) else result
            losses.append(float(np.asarray(value)))
    return losses, note


# ---------------------------------------------------------------------------------------------
# one file


def _guess_input_shape(model) -> tuple | None:
    """Token sequences of any length for a Sequential that starts with an Embedding and states no shape."""
    layers = getattr(model, "layers", [])
    if isinstance(model, keras.Sequential) and layers and isinstance(layers[0], keras.layers.Embedding):
        return (None, None)
    return None


def build_from_fit(models: list, fit: tuple | None) -> str | None:
    """Build Sequentials that state no input shape (Keras builds them at the first fit) from the shape of the data
    the program passes to fit, as (name, shape); a note when it did."""
    if fit is None or any(_has_inputs(m) or not isinstance(m, keras.Sequential) for m in models):
        return None
    data, shape = fit
    for model in models:
        model.build((None, *shape[1:]))
    return (f"no input shape in the program (Keras builds it at the first fit); verify built it from {data}, the data "
            f"passed to fit: (None, {', '.join(map(str, shape[1:]))})")


def _ensure_built(migrated, original, fit: tuple | None = None) -> str | None:
    note = build_from_fit([original, migrated], fit)
    if note:
        return note
    if original is not None and not _has_inputs(original) and not _has_inputs(migrated):
        shape = _guess_input_shape(original)
        if shape is not None and _guess_input_shape(migrated) == shape:
            original.build(shape)
            migrated.build(shape)
            return "no input shape in the program (Keras builds it at the first fit); verify built both for token sequences of any length"
    if migrated.built and _has_inputs(migrated):
        return note
    if original is not None and original.built and _has_inputs(original):
        shapes = [tuple(t.shape) for t in original.inputs]
        migrated.build(shapes[0] if len(shapes) == 1 else shapes)
        if isinstance(migrated, keras.Sequential) and not _has_inputs(migrated):
            return "the migrated model has no input shape"
        return "the migrated model states no input shape; built with the original's"
    return None


def _has_inputs(model) -> bool:
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def verify_model(name: str, original, migrated, job: dict, rng_seed: int, fit: tuple | None = None,
                 function=None) -> dict:
    record: dict = {"name": name, "built": False, "shapes_match": None, "params_match": None, "max_output_diff": None,
                    "trained": False, "loss": [], "device": job["device"], "error": None, "notes": [], "differences": []}
    started = time.perf_counter()
    try:
        note = _ensure_built(migrated, original, fit)
        if note:
            record["notes"].append(note)
        if not (original.built and _has_inputs(original)):
            record["skip"] = results.not_built(job["original"].get("fit_inputs", {}).get(name))
            record["error"] = {"type": "NotBuilt", "message": record["skip"]["message"], "line": None, "source": None,
                               "side": "original"}
            return record
        if not _has_inputs(migrated):
            record["error"] = {"type": "NotBuilt", "message": "the model has no input shape, so it was never built; give its first layer an input shape", "line": None, "source": None, "side": "migrated"}
            return record
        record["built"] = True
        a = [layer_record(l) for l in leaves(original)]
        b = [layer_record(l) for l in leaves(migrated)]
        record["layers"] = {"original": a, "migrated": b}
        record["top_layers"] = [layer_record(l) for l in migrated.layers]
        totals_a, totals_b = model_totals(original), model_totals(migrated)
        record["params"] = {"original": totals_a["total"], "migrated": totals_b["total"],
                            "trainable": [totals_a["trainable"], totals_b["trainable"]]}
        shapes_ok, params_ok, differences = compare_layers(a, b)
        for note in (loss_layers(a, b)[2], identity_note(a, b)):
            if note:
                record["notes"].append(note)
        params_ok = params_ok and totals_a == totals_b
        record["shapes_match"], record["params_match"] = shapes_ok, params_ok
        record["differences"] = differences
        problem = copy_weights(original, migrated)
        if problem is None:
            arrays = make_inputs(migrated, BATCH, np.random.default_rng(rng_seed))
            if function is not None:
                from kerasfix.verify.backend_function import note as function_note

                record["notes"].append(function_note(name, function))
            diff, problem = output_difference(original, migrated, arrays, record["notes"], function)
            record["max_output_diff"] = diff
        if problem:
            record["differences"].append(problem)
    except Exception as exc:  # noqa: BLE001 - one model's failure never stops the others
        record["error"] = _error(exc, "", [], "compare")
        record["error"]["message"] = f"comparing: {record['error']['message']}"
    if record["built"]:
        train_into(record, migrated, job, rng_seed)
    record["time"] = round(time.perf_counter() - started, 3)
    return record


def train_into(record: dict, model, job: dict, rng_seed: int) -> None:
    """Train `job["steps"]` steps and write the losses, whether they are finite, and a failure into `record`."""
    try:
        losses, note = train(model, job["steps"], job["device"], np.random.default_rng(rng_seed + 1))
        record["loss"] = losses
        record["trained"] = bool(losses) and all(math.isfinite(v) for v in losses)
        if note:
            record["notes"].append(note)
        if not record["trained"]:
            record["differences"].append("training produced a non-finite loss")
    except Exception as exc:  # noqa: BLE001
        if record["error"] is None:
            record["error"] = _error(exc, "", [], "train")
            record["error"]["message"] = f"training: {record['error']['message']}"


def _same(a: dict, b: dict | None) -> bool:
    """The same failure seen from both programs (the model's record already shows it)."""
    return b is not None and a.get("type") == b.get("type") and b.get("message", "").endswith(a.get("message", ""))


def _failures(side: Side) -> list[dict]:
    """The side's failures that are not a skip (a missing package or data file fails the whole module alike)."""
    return [e for e in [*side.failed.values(), *side.errors] if not e.get("skip")]


def _only_where_the_original_skips(migrated: Side, original: Side) -> None:
    """A reason to skip counts only when the original program stopped for it too: a migrated program that needs
    a package or a file the original did not is a failure of the migration."""
    labels = {e["skip"]["label"] for e in [*original.failed.values(), *original.errors] if e.get("skip")}
    for error in [*migrated.failed.values(), *migrated.errors]:
        if error.get("skip") and error["skip"]["label"] not in labels:
            del error["skip"]


def verify_file(job: dict, progress: Callable[[str, int], None]) -> dict:
    started = time.perf_counter()
    seed = job.get("seed", 0)
    notes: list[str] = []
    original = run_side(dict(job["original"], seed=seed), "original", True, progress)
    whole = False
    failures = _failures(original)
    if failures and job["original"].get("whole") and job["migrated"].get("whole"):
        # The slice may have left out something the models need: run the module up to them instead, on both
        # sides, when that does better for the original program (the migrated one only ever runs what it does).
        retry = run_side(dict(job["original"], seed=seed), "original", True, progress, whole=True)
        if (len(retry.models), -len(_failures(retry))) > (len(original.models), -len(failures)):
            first = failures[0]
            notes.append(f"the slice of the program that builds its models failed ({first['type']}: "
                         f"{first['message'][:200]}{', line ' + str(first['line']) if first.get('line') else ''}); "
                         "verify ran the module up to its models instead")
            original, whole = retry, True
    migrated = run_side(dict(job["migrated"], seed=seed), "migrated", False, progress, whole=whole)
    _only_where_the_original_skips(migrated, original)
    build_time = time.perf_counter() - started
    names: list[str] = []
    for candidate in [*original.models, *migrated.models, *original.failed, *migrated.failed]:
        if candidate in names:
            continue
        model_like = candidate in original.models or candidate in migrated.models or candidate in job["original"]["sites"] or candidate in job["migrated"]["sites"]
        if model_like:
            names.append(candidate)
    records = []
    for name in names:
        a, b = original.models.get(name), migrated.models.get(name)
        if a is None or b is None:
            error = migrated.failed.get(name) if b is None else None
            if error is not None and a is None and _same(error, original.failed.get(name)):
                error = original.failed[name]  # both fail alike: the user's own file and line say more
            error = error or original.failed.get(name)
            if error is None:
                where = "migrated" if b is None else "original"
                error = {"type": "Missing", "message": f"the {where} program has no model named {name!r}", "line": None, "source": None, "side": where}
            elif error["side"] == "original" and b is not None and not error.get("skip"):
                error = dict(error, message="the original does not build under the Keras 1/2 compatibility layer: " + error["message"])
            record = {"name": name, "built": False, "shapes_match": None, "params_match": None, "max_output_diff": None,
                      "trained": False, "loss": [], "device": job["device"], "error": error, "notes": [], "differences": []}
            if a is None and b is None and original.failed.get(name) is not None and migrated.failed.get(name) is not None:
                # how each program failed, when both did
                record["original_error"], record["migrated_error"] = original.failed[name], migrated.failed[name]
            skip = (original.failed.get(name) or {}).get("skip") if a is None else None
            if skip and (b is not None or (migrated.failed.get(name) or {}).get("skip")):
                record["skip"] = skip
            records.append(record)
            continue
        records.append(verify_model(name, a, b, job, seed, original.fit_shapes.get(name) or migrated.fit_shapes.get(name),
                                    original.functions.get(name)))
    errors = original.errors + migrated.errors
    reported = {id(r["error"]) for r in records if r["error"] is not None} | {id(e) for e in errors}
    for side in (original, migrated):
        for error in side.failed.values():
            if id(error) not in reported and not any(_same(error, r["error"]) for r in records):
                reported.add(id(error))
                errors.append(error)
    return {"models": records, "errors": errors, "build_time": round(build_time, 3), "notes": notes}
