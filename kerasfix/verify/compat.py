"""Keras 1/2 on top of Keras 3, at run time: the original program runs unchanged against these names.

This is a second, independent implementation of the migration: instead of rewriting source, it maps
legacy calls when they happen (`merge(..., mode=)`, `Merge([...])` of Sequentials, `Model(input=,
output=)`, Keras 1 layer arguments and positionals, renamed classes, optimizers' `lr`/`decay`, and the
legacy module paths such as `keras.layers.core` or `keras.engine.topology`). It is imported only inside
the verify worker; `importer()` gives the `__import__` the original program's namespace uses, so the
real `keras` modules in `sys.modules` stay untouched for the migrated program.

The mapping follows Keras 2.0's legacy interface (keras/legacy/interfaces.py): Keras 1 names are
renamed, values converted (`dim_ordering='th'` -> `data_format='channels_first'`), and Keras 1
positionals bound by the Keras 1 signature where the Keras 1 class name makes that unambiguous.
Defaults that changed without a change of API (GRU `reset_after`, the recurrent `hard_sigmoid`,
optimizers' learning rates) are not emulated: a file does not say whether it was written for Keras 2
or 3, so its calls are taken to mean what Keras 3 makes of them.
"""

from __future__ import annotations

import builtins
import importlib
import types
from typing import Any, Callable

import keras

_LAYERS = keras.layers
INITIALIZER_NAMES = frozenset({
    "uniform", "normal", "lecun_uniform", "lecun_normal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "orthogonal", "identity", "zero", "zeros", "one", "ones",
})
DIM_ORDERING = {"tf": "channels_last", "th": "channels_first", "default": None, None: None}
# Keras 1 loss names Keras 3 no longer accepts.
LOSS_NAMES = {
    "cosine": "cosine_similarity", "cosine_proximity": "cosine_similarity",
    "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh",
}


# ---------------------------------------------------------------------------------------------
# argument translation


class LegacyArgumentError(TypeError):
    pass


def _bind(name: str, args: tuple, kwargs: dict, positional: list[str]) -> dict:
    """Keyword arguments for a call, its positionals bound to `positional` (a Keras 1 or 3 signature)."""
    if len(args) > len(positional):
        raise LegacyArgumentError(f"`{name}` accepts at most {len(positional)} positional arguments ({', '.join(positional)}); got {len(args)}")
    bound = dict(kwargs)
    for parameter, value in zip(positional, args):
        if parameter in bound:
            raise LegacyArgumentError(f"`{name}` got two values for `{parameter}`")
        bound[parameter] = value
    return bound


def _rename(name: str, kwargs: dict, renames: dict[str, str]) -> dict:
    out: dict = {}
    for key, value in kwargs.items():
        new = renames.get(key, key)
        if new is None:
            continue  # dropped
        if new in out or (new != key and new in kwargs):
            raise LegacyArgumentError(
                f"`{name}` received both the legacy argument `{key}` and the Keras 2 argument `{new}`"
            )
        out[new] = value
    return out


def _data_format(kwargs: dict) -> None:
    if "dim_ordering" in kwargs:
        value = kwargs.pop("dim_ordering")
        kwargs["data_format"] = DIM_ORDERING.get(value, value)


def _common(kwargs: dict) -> dict:
    """Arguments every Keras 1 layer accepted."""
    kwargs.pop("input_dtype", None)
    if "batch_input_shape" in kwargs:
        shape = kwargs.pop("batch_input_shape")
        kwargs.setdefault("input_shape", tuple(shape[1:]))
    kwargs.pop("batch_size", None)
    _data_format(kwargs)
    return kwargs


_KERNEL = {"init": "kernel_initializer", "W_regularizer": "kernel_regularizer", "b_regularizer": "bias_regularizer",
           "W_constraint": "kernel_constraint", "b_constraint": "bias_constraint", "bias": "use_bias"}
_CONV = {**_KERNEL, "nb_filter": "filters", "subsample": "strides", "border_mode": "padding", "atrous_rate": "dilation_rate",
         "filter_length": "kernel_size", "subsample_length": "strides"}
_RECURRENT = {**_KERNEL, "output_dim": "units", "inner_init": "recurrent_initializer", "inner_activation": "recurrent_activation",
              "U_regularizer": "recurrent_regularizer", "U_constraint": "recurrent_constraint", "dropout_W": "dropout",
              "dropout_U": "recurrent_dropout", "consume_less": None}
_K1_CONV1D = ["nb_filter", "filter_length", "init", "activation", "weights", "border_mode", "subsample_length",
              "W_regularizer", "b_regularizer", "activity_regularizer", "W_constraint", "b_constraint", "bias",
              "input_dim", "input_length"]
_K1_CONV2D = ["nb_filter", "nb_row", "nb_col", "init", "activation", "weights", "border_mode", "subsample",
              "dim_ordering", "W_regularizer", "b_regularizer", "activity_regularizer", "W_constraint", "b_constraint", "bias"]
_K1_CONV3D = ["nb_filter", "kernel_dim1", "kernel_dim2", "kernel_dim3", "init", "activation", "weights", "border_mode",
              "subsample", "dim_ordering", "W_regularizer", "b_regularizer", "activity_regularizer", "W_constraint",
              "b_constraint", "bias"]


def _keras3_positional(base: type) -> list[str]:
    import inspect

    parameters = list(inspect.signature(base.__init__).parameters.values())[1:]
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _sequence_input(kwargs: dict) -> None:
    """Keras 1 `input_dim` (+ `input_length`) on sequence layers is `input_shape=(input_length, input_dim)`."""
    if "input_dim" in kwargs and "input_shape" not in kwargs:
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
    kwargs.pop("input_length", None)


# translators: (class name, args, kwargs, base) -> kwargs for the Keras 3 class


def _dense(name, args, kwargs, base):
    if len(args) >= 2 and isinstance(args[1], str) and args[1] in INITIALIZER_NAMES:
        kwargs = _bind(name, args, kwargs, ["output_dim", "init", "activation", "weights", "W_regularizer", "b_regularizer",
                                            "activity_regularizer", "W_constraint", "b_constraint", "bias", "input_dim"])
    else:
        kwargs = _bind(name, args, kwargs, _keras3_positional(base))
    return _rename(name, _common(kwargs), {**_KERNEL, "output_dim": "units"})


def _conv(rank: int, keras1: bool):
    k1_signature = {1: _K1_CONV1D, 2: _K1_CONV2D, 3: _K1_CONV3D}[rank]
    kernel_parts = {1: ["filter_length"], 2: ["nb_row", "nb_col"], 3: ["kernel_dim1", "kernel_dim2", "kernel_dim3"]}[rank]

    def translate(name, args, kwargs, base):
        # Keras 2's legacy preprocessor: Conv2D(32, 3, 3) means a 3x3 kernel, whatever the class name,
        # unless a Keras 2 keyword is given too (`padding`, `strides`, `data_format`): Keras 2 refused
        # that mix and tf.keras read the third number as strides, as Keras 3 does.
        keras2_keywords = any(k in kwargs for k in ("padding", "strides", "data_format"))
        ints = not keras2_keywords and len(args) >= 1 + rank and all(isinstance(a, int) for a in args[1 : 1 + rank])
        legacy = keras1 or (rank > 1 and ints) or (rank == 1 and len(args) >= 3 and isinstance(args[2], str) and args[2] in INITIALIZER_NAMES)
        legacy = legacy or any(part in kwargs for part in kernel_parts[1:]) or "nb_filter" in kwargs
        if legacy:
            kwargs = _bind(name, args, kwargs, k1_signature)
            parts = [kwargs.pop(p) for p in kernel_parts if p in kwargs]
            if parts:
                if len(parts) != rank:
                    raise LegacyArgumentError(f"`{name}` needs all of {', '.join(kernel_parts)}")
                kwargs["kernel_size"] = parts[0] if rank == 1 else tuple(parts)
            if "init" in kwargs and "Separable" in base.__name__:
                init = kwargs.pop("init")
                kwargs["depthwise_initializer"] = kwargs["pointwise_initializer"] = init
        else:
            kwargs = _bind(name, args, kwargs, _keras3_positional(base))
        if rank == 1:
            _sequence_input(kwargs)
        kwargs.pop("output_shape", None)  # Keras 1 Deconvolution2D: the output size follows from padding
        return _rename(name, _common(kwargs), _CONV)

    return translate


def _conv_lstm(name, args, kwargs, base):
    if len(args) >= 3 and all(isinstance(a, int) for a in args[1:3]):
        kwargs = _bind(name, args, kwargs, ["nb_filter", "nb_row", "nb_col", "init", "inner_init", "forget_bias_init",
                                            "activation", "inner_activation", "dim_ordering", "border_mode", "subsample",
                                            "W_regularizer", "U_regularizer", "b_regularizer", "dropout_W", "dropout_U"])
    else:
        kwargs = _bind(name, args, kwargs, _keras3_positional(base))
    if "nb_row" in kwargs or "nb_col" in kwargs:
        kwargs["kernel_size"] = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
    _forget_bias(kwargs)
    return _rename(name, _common(kwargs), {**_CONV, **_RECURRENT})


def _forget_bias(kwargs: dict) -> None:
    if "forget_bias_init" in kwargs:
        value = kwargs.pop("forget_bias_init")
        kwargs["unit_forget_bias"] = value in ("one", "ones")


def _recurrent(name, args, kwargs, base):
    if len(args) >= 2 and isinstance(args[1], str) and args[1] in INITIALIZER_NAMES:
        order = ["output_dim", "init", "inner_init"] + (["forget_bias_init"] if name == "LSTM" else []) + [
            "activation", "inner_activation", "W_regularizer", "U_regularizer", "b_regularizer", "dropout_W", "dropout_U"]
        kwargs = _bind(name, args, kwargs, order)
    else:
        kwargs = _bind(name, args, kwargs, _keras3_positional(base))
    _forget_bias(kwargs)
    _sequence_input(kwargs)
    kwargs.pop("implementation", None) if name == "SimpleRNN" else None
    return _rename(name, _common(kwargs), _RECURRENT)


def _embedding(name, args, kwargs, base):
    if len(args) >= 4 and isinstance(args[3], int):
        kwargs = _bind(name, args, kwargs, ["input_dim", "output_dim", "init", "input_length", "W_regularizer",
                                            "activity_regularizer", "W_constraint", "mask_zero", "weights", "dropout"])
    else:
        kwargs = _bind(name, args, kwargs, _keras3_positional(base))
    kwargs.pop("dropout", None)
    length = kwargs.pop("input_length", None)
    if length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
        kwargs["input_shape"] = (length,) if isinstance(length, int) else tuple(length)
    return _rename(name, _common(kwargs), {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                                           "W_constraint": "embeddings_constraint"})


def _pooling(rank: int, average: bool):
    def translate(name, args, kwargs, base):
        if rank == 1:
            kwargs = _bind(name, args, kwargs, ["pool_length", "stride", "border_mode"] if args and "pool_size" not in kwargs else _keras3_positional(base))
        else:
            kwargs = _bind(name, args, kwargs, ["pool_size", "strides", "border_mode", "dim_ordering"])
        kwargs = _rename(name, _common(kwargs), {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"})
        if average:
            kwargs.setdefault("pool_size", 2 if rank == 1 else (2,) * rank)
        return kwargs

    return translate


def _simple(renames: dict[str, str], positional: list[str] | None = None):
    def translate(name, args, kwargs, base):
        kwargs = _bind(name, args, kwargs, positional or _keras3_positional(base))
        return _rename(name, _common(kwargs), renames)

    return translate


def _batch_norm(name, args, kwargs, base):
    if args and isinstance(args[0], float):
        kwargs = _bind(name, args, kwargs, ["epsilon", "mode", "axis", "momentum", "weights", "beta_init", "gamma_init",
                                            "gamma_regularizer", "beta_regularizer"])
    else:
        kwargs = _bind(name, args, kwargs, _keras3_positional(base))
    mode = kwargs.pop("mode", 0)
    if mode != 0:
        raise LegacyArgumentError("BatchNormalization(mode=1|2) has no Keras 2 or 3 equivalent")
    return _rename(name, _common(kwargs), {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer"})


def _zero_padding(rank: int):
    def translate(name, args, kwargs, base):
        kwargs = _bind(name, args, kwargs, ["padding", "dim_ordering"])
        padding = kwargs.get("padding")
        if isinstance(padding, dict):
            keys = ("left_pad", "right_pad") if rank == 1 else ("top_pad", "bottom_pad", "left_pad", "right_pad")
            values = [padding.get(k, 0) for k in keys]
            kwargs["padding"] = tuple(values) if rank == 1 else ((values[0], values[1]), (values[2], values[3]))
        elif rank == 2 and isinstance(padding, (tuple, list)) and len(padding) == 4:
            kwargs["padding"] = ((padding[0], padding[1]), (padding[2], padding[3]))
        return _common(kwargs)

    return translate


def _lambda(name, args, kwargs, base):
    return _common(_bind(name, args, kwargs, ["function", "output_shape", "arguments"]))


def _input_layer(name, args, kwargs, base):
    kwargs = _bind(name, args, kwargs, _keras3_positional(base))
    if "batch_input_shape" in kwargs:
        kwargs["batch_shape"] = tuple(kwargs.pop("batch_input_shape"))
    return _rename(name, kwargs, {"input_shape": "shape", "input_dtype": "dtype"})


def _leaky(name, args, kwargs, base):
    kwargs = _bind(name, args, kwargs, ["alpha"] if args else [])
    return _rename(name, _common(kwargs), {"alpha": "negative_slope"})


# ---------------------------------------------------------------------------------------------
# layer classes


def _shapes_from_compute_output_shape(cls: type) -> None:
    """A program's layer says its outputs by its `call` (or its `compute_output_shape`), as in Keras 2, also when it
    returns a list of tensors (keras-embed-sim's `EmbeddingRet(Embedding)`, keras-bert's `TokenEmbedding(Embedding)`
    return their output and their weights). tf.keras 2 built a layer's symbolic outputs by running its `call`
    (Keras 2 took their shapes from `compute_output_shape`); Keras 3 asks `compute_output_spec`, and some of its
    layers (`Embedding`, `Flatten`, `Reshape`, the merge layers) replace the general one, which runs `call` or asks
    `compute_output_shape`, with one that assumes their own single output. A program's subclass of such a layer
    that overrides `call` gets the spec of its `call` back (run on symbolic inputs), one that overrides only
    `compute_output_shape` the spec of its shapes (Keras 3's general `Layer.compute_output_spec`)."""
    if "compute_output_spec" in cls.__dict__:
        return
    general = keras.layers.Layer.compute_output_spec
    own_call = own_shape = False
    for parent in cls.__mro__:
        spec = parent.__dict__.get("compute_output_spec")
        if spec is not None:
            if spec is general or not parent.__module__.startswith("keras.") or not (own_call or own_shape):
                return  # the general spec, or one of the program's own classes: as it is
            break
        if not parent.__module__.startswith("keras.") or parent.__dict__.get("_kerasfix_compat"):
            own_call = own_call or "call" in parent.__dict__
            own_shape = own_shape or "compute_output_shape" in parent.__dict__
    else:
        return
    if own_call:
        from keras.src.ops.operation import Operation

        cls.compute_output_spec = Operation.compute_output_spec
    else:
        cls.compute_output_spec = general


def _compat_class(public_name: str, base: type, translate: Callable) -> type:
    """A subclass of the Keras 3 layer that takes Keras 1/2 arguments; reported under the Keras 3 name."""

    def __init__(self, *args, **kwargs):
        kwargs = translate(public_name, args, kwargs, base)
        for key, value in kwargs.items():
            if key.endswith("_initializer"):
                kwargs[key] = _initializer(value)
        weights = kwargs.pop("weights", None) if "weights" not in _keras3_positional(base) else None
        base.__init__(self, **kwargs)
        if weights is not None:
            object.__setattr__(self, "_kerasfix_initial_weights", weights)

    def __init_subclass__(cls, **kwargs):
        super(compat, cls).__init_subclass__(**kwargs)
        _shapes_from_compute_output_shape(cls)

    # Wrappers (Bidirectional) clone their layer through its config: let that find the Keras 3 class.
    namespace = {"__init__": __init__, "__module__": base.__module__, "_kerasfix_compat": True,
                 "__init_subclass__": classmethod(__init_subclass__)}
    cls = compat = type(base.__name__, (base,), namespace)
    cls.__qualname__ = base.__name__
    return cls


def _initializer(value):
    """A Keras 1 initializer function, `init(shape, name=None)` returning the initial value, as the initializer
    Keras 3 calls with `(shape, dtype)`; anything else as it is."""
    if not callable(value) or isinstance(value, (type, keras.initializers.Initializer)):
        return value

    def initializer(shape, dtype=None, **kwargs):
        made = value(tuple(shape), name=None)
        return keras.ops.cast(keras.ops.convert_to_tensor(made), dtype or keras.config.floatx())

    return initializer


def _initializations() -> dict[str, Any]:
    """Keras 1's `keras.initializations`: functions of a shape (and a `scale`) returning the initial value."""
    init = keras.initializers

    def scaled(make, default_scale=None):
        def function(shape, scale=default_scale, name=None, **kwargs):
            return make(scale)(tuple(shape))
        return function

    members = {
        "uniform": scaled(lambda scale: init.RandomUniform(-scale, scale), 0.05),
        "normal": scaled(lambda scale: init.RandomNormal(stddev=scale), 0.05),
        "identity": scaled(lambda scale: init.Identity(gain=scale), 1.0),
        "orthogonal": scaled(lambda scale: init.Orthogonal(gain=scale), 1.1),
        "zero": scaled(lambda scale: init.Zeros()),
        "one": scaled(lambda scale: init.Ones()),
    }
    for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform"):
        members[name] = scaled(lambda scale, name=name: init.get(name))

    def get(identifier, **kwargs):
        if isinstance(identifier, str) and identifier in members:
            return members[identifier]
        return init.get(identifier)

    members["get"] = get
    return members


class Layer(keras.layers.Layer):
    """Keras 3's `Layer` for the original's own layers, taking what Keras 1 and 2 let a layer do that Keras 3
    refuses: assigning the list of its own variables, `self.trainable_weights = [self.W]` (Keras 1 custom layers
    made weights with `K.variable` and listed them so). Each listed variable is trainable or not as the list says;
    Keras 3 tracks a variable assigned to an attribute by itself, and tracks any other listed here. And Keras 1's
    name of `compute_output_shape`, `get_output_shape_for`."""

    _kerasfix_compat = True

    def __setattr__(self, name, value):
        if name in ("trainable_weights", "non_trainable_weights") and isinstance(value, (list, tuple)):
            tracked = {id(v) for v in self.weights}
            for variable in value:
                if not isinstance(variable, keras.Variable):
                    raise TypeError(f"{type(self).__name__}.{name} lists {variable!r}, which is not a variable")
                if id(variable) not in tracked:
                    self._track_variable(variable)
                variable.trainable = name == "trainable_weights"
            return
        super().__setattr__(name, value)

    def __init_subclass__(cls, **kwargs):
        # Keras 1 named compute_output_shape get_output_shape_for (a layer without either keeps Keras 3's default,
        # which runs call on symbolic inputs)
        super().__init_subclass__(**kwargs)
        if "get_output_shape_for" in cls.__dict__ and "compute_output_shape" not in cls.__dict__:
            def compute_output_shape(self, input_shape):
                return self.get_output_shape_for(input_shape)

            cls.compute_output_shape = compute_output_shape
        _shapes_from_compute_output_shape(cls)


def _layer_table() -> dict[str, type]:
    L = _LAYERS
    conv = {1: L.Conv1D, 2: L.Conv2D, 3: L.Conv3D}
    table: dict[str, type] = {
        "Dense": _compat_class("Dense", L.Dense, _dense),
        "Dropout": _compat_class("Dropout", L.Dropout, _simple({"p": "rate"}, ["rate", "noise_shape", "seed"])),
        "SpatialDropout1D": _compat_class("SpatialDropout1D", L.SpatialDropout1D, _simple({"p": "rate"}, ["rate"])),
        "SpatialDropout2D": _compat_class("SpatialDropout2D", L.SpatialDropout2D, _simple({"p": "rate"}, ["rate", "dim_ordering"])),
        "SpatialDropout3D": _compat_class("SpatialDropout3D", L.SpatialDropout3D, _simple({"p": "rate"}, ["rate", "dim_ordering"])),
        "GaussianNoise": _compat_class("GaussianNoise", L.GaussianNoise, _simple({"sigma": "stddev"}, ["stddev"])),
        "GaussianDropout": _compat_class("GaussianDropout", L.GaussianDropout, _simple({"p": "rate"}, ["rate"])),
        "Embedding": _compat_class("Embedding", L.Embedding, _embedding),
        "PReLU": _compat_class("PReLU", L.PReLU, _simple({"init": "alpha_initializer"})),
        "LeakyReLU": _compat_class("LeakyReLU", L.LeakyReLU, _leaky),
        "BatchNormalization": _compat_class("BatchNormalization", L.BatchNormalization, _batch_norm),
        "Lambda": _compat_class("Lambda", L.Lambda, _lambda),
        "InputLayer": _compat_class("InputLayer", L.InputLayer, _input_layer),
        "SimpleRNN": _compat_class("SimpleRNN", L.SimpleRNN, _recurrent),
        "GRU": _compat_class("GRU", L.GRU, _recurrent),
        "LSTM": _compat_class("LSTM", L.LSTM, _recurrent),
        "ConvLSTM2D": _compat_class("ConvLSTM2D", L.ConvLSTM2D, _conv_lstm),
        "UpSampling1D": _compat_class("UpSampling1D", L.UpSampling1D, _simple({"length": "size"}, ["size"])),
        "UpSampling2D": _compat_class("UpSampling2D", L.UpSampling2D, _simple({}, ["size", "dim_ordering"])),
        "UpSampling3D": _compat_class("UpSampling3D", L.UpSampling3D, _simple({}, ["size", "dim_ordering"])),
        "ZeroPadding1D": _compat_class("ZeroPadding1D", L.ZeroPadding1D, _zero_padding(1)),
        "ZeroPadding2D": _compat_class("ZeroPadding2D", L.ZeroPadding2D, _zero_padding(2)),
        "ZeroPadding3D": _compat_class("ZeroPadding3D", L.ZeroPadding3D, _simple({}, ["padding", "dim_ordering"])),
        "Cropping1D": _compat_class("Cropping1D", L.Cropping1D, _simple({}, ["cropping"])),
        "Cropping2D": _compat_class("Cropping2D", L.Cropping2D, _simple({}, ["cropping", "dim_ordering"])),
        "Cropping3D": _compat_class("Cropping3D", L.Cropping3D, _simple({}, ["cropping", "dim_ordering"])),
    }
    for rank in (1, 2, 3):
        for kind, layer in (("Max", getattr(L, f"MaxPooling{rank}D")), ("Average", getattr(L, f"AveragePooling{rank}D"))):
            table[f"{kind}Pooling{rank}D"] = _compat_class(f"{kind}Pooling{rank}D", layer, _pooling(rank, kind == "Average"))
        table[f"MaxPool{rank}D"] = table[f"MaxPooling{rank}D"]
        table[f"AvgPool{rank}D"] = table[f"AveragePooling{rank}D"]
        for kind in ("Max", "Average"):
            name = f"Global{kind}Pooling{rank}D"
            table[name] = _compat_class(name, getattr(L, name), _simple({}))
        table[f"Conv{rank}D"] = _compat_class(f"Conv{rank}D", conv[rank], _conv(rank, keras1=False))
        table[f"Convolution{rank}D"] = _compat_class(f"Convolution{rank}D", conv[rank], _conv(rank, keras1=True))
    table["AtrousConvolution1D"] = table["AtrousConv1D"] = _compat_class("AtrousConvolution1D", L.Conv1D, _conv(1, keras1=True))
    table["AtrousConvolution2D"] = table["AtrousConv2D"] = _compat_class(
        "AtrousConvolution2D", L.Conv2D, _conv_with_rate(_K1_CONV2D)
    )
    deconv = _compat_class("Deconvolution2D", L.Conv2DTranspose, _deconv)
    table["Deconvolution2D"] = table["Deconv2D"] = deconv
    table["Conv2DTranspose"] = _compat_class("Conv2DTranspose", L.Conv2DTranspose, _conv(2, keras1=False))
    separable = _compat_class("SeparableConv2D", L.SeparableConv2D, _conv(2, keras1=False))
    table["SeparableConv2D"] = separable
    table["SeparableConvolution2D"] = _compat_class("SeparableConvolution2D", L.SeparableConv2D, _conv(2, keras1=True))
    table["ThresholdedReLU"] = _thresholded_relu
    table["TimeDistributedDense"] = _time_distributed_dense
    table["Merge"] = Merge
    table["merge"] = merge
    for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        cls = _compat_class(name, getattr(L, name), _simple({}))
        cls.compute_mask = _keras2_merge_mask
        table[name] = cls
        table[name.lower()] = _merge_function(cls)
    return table


def _keras2_merge_mask(self, inputs, mask=None):
    """Keras 1 and 2's mask of an elementwise merge: the positions every masked input keeps (the inputs without a
    mask keep all). Keras 3's is None as soon as one input has no mask, else the positions any input keeps."""
    if mask is None or all(m is None for m in mask):
        return None
    masks = [keras.ops.expand_dims(m, axis=0) for m in mask if m is not None]
    return keras.ops.all(keras.ops.concatenate(masks, axis=0), axis=0)


def _merge_function(cls: type) -> Callable:
    def function(inputs, **kwargs):  # Keras 2's `keras.layers.add([a, b])`: the layer called on the inputs
        return cls(**kwargs)(inputs)

    return function


def _conv_with_rate(signature: list[str]):
    order = signature[:8] + ["atrous_rate"] + signature[8:]

    def translate(name, args, kwargs, base):
        kwargs = _bind(name, args, kwargs, order)
        if "nb_row" in kwargs:
            kwargs["kernel_size"] = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
        return _rename(name, _common(kwargs), _CONV)

    return translate


def _deconv(name, args, kwargs, base):
    order = ["nb_filter", "nb_row", "nb_col", "output_shape", "init", "activation", "weights", "border_mode", "subsample",
             "dim_ordering", "W_regularizer", "b_regularizer", "activity_regularizer", "W_constraint", "b_constraint", "bias"]
    kwargs = _bind(name, args, kwargs, order)
    if "nb_row" in kwargs:
        kwargs["kernel_size"] = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
    kwargs.pop("output_shape", None)
    return _rename(name, _common(kwargs), _CONV)


def _thresholded_relu(theta: float = 1.0, **kwargs):
    return _LAYERS.ReLU(threshold=theta, **_common(kwargs))


def _time_distributed_dense(*args, **kwargs):
    outer = {key: kwargs.pop(key) for key in ("input_shape", "input_dim", "input_length", "batch_input_shape", "name") if key in kwargs}
    if "input_dim" in outer:
        outer["input_shape"] = (outer.pop("input_length", None), outer.pop("input_dim"))
    outer.pop("input_length", None)
    return _LAYERS.TimeDistributed(_LAYERS_TABLE["Dense"](*args, **kwargs), **_common(outer))


# ---------------------------------------------------------------------------------------------
# merge / Merge


def _merge_layer(mode, concat_axis, dot_axes, output_shape, arguments, name, n_inputs: int | None):
    if callable(mode):
        function = mode
        extra = dict(arguments or {})
        return _LAYERS.Lambda(lambda tensors: function(tensors, **extra), output_shape=output_shape, name=name)
    kwargs = {"name": name} if name else {}
    if mode == "sum":
        return _LAYERS_TABLE["Add"](**kwargs)
    if mode == "mul":
        return _LAYERS_TABLE["Multiply"](**kwargs)
    if mode == "ave":
        return _LAYERS_TABLE["Average"](**kwargs)
    if mode == "max":
        return _LAYERS_TABLE["Maximum"](**kwargs)
    if mode == "concat":
        return _LAYERS.Concatenate(axis=concat_axis, **kwargs)
    if mode in ("dot", "cos"):
        axes = list(dot_axes) if isinstance(dot_axes, (list, tuple)) else dot_axes
        return _LAYERS.Dot(axes=axes, normalize=(mode == "cos"), **kwargs)
    raise ValueError(f"merge mode {mode!r} is not one of 'sum', 'mul', 'concat', 'ave', 'cos', 'dot', 'max'")


def _normalise_dot_axes(dot_axes, tensors) -> Any:
    if isinstance(dot_axes, int) and dot_axes < 0 and tensors:
        return [dot_axes % len(t.shape) for t in tensors]
    return dot_axes


def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None, arguments=None,
          node_indices=None, tensor_indices=None, name=None):
    """Keras 1 `merge(tensors, mode=...)`: the tensor computed by the Keras 2+ merge layer of the mode."""
    inputs = list(inputs)
    layer = _merge_layer(mode, concat_axis, _normalise_dot_axes(dot_axes, inputs), output_shape, arguments, name, len(inputs))
    return layer(inputs)


def Merge(layers=None, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None, arguments=None,
          node_indices=None, tensor_indices=None, name=None):
    """Keras 1 `Merge`: a merge layer; given models, a layer a Sequential turns into a multi-input graph."""
    if layers is not None and all(keras.backend.is_keras_tensor(t) for t in layers):
        return merge(layers, mode, concat_axis, dot_axes, output_shape, output_mask, arguments, name=name)
    if layers is not None:
        outputs = [getattr(branch, "outputs", [None])[0] if isinstance(branch, keras.Model) else None for branch in layers]
        dot_axes = _normalise_dot_axes(dot_axes, [o for o in outputs if o is not None])
    layer = _merge_layer(mode, concat_axis, dot_axes, output_shape, arguments, name, None)
    if layers is not None:
        object.__setattr__(layer, "_kerasfix_branches", tuple(layers))
    return layer


# ---------------------------------------------------------------------------------------------
# models


def _model_args(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    kwargs = _rename("Model", kwargs, {"input": "inputs", "output": "outputs"})
    return args, kwargs


class Model(keras.Model):
    """`Model(input=..., output=...)` as well as `Model(inputs, outputs)`; subclasses work as before."""

    _kerasfix_compat = True

    def __new__(cls, *args, **kwargs):
        args, kwargs = _model_args(args, kwargs)
        if cls is Model:
            return keras.Model(*args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        args, kwargs = _model_args(args, kwargs)
        super().__init__(*args, **kwargs)


class Sequential(keras.Sequential):
    """A Sequential that also accepts a Keras 1 `Merge([...])` of models as its first layer."""

    _kerasfix_compat = True

    def __init__(self, layers=None, name=None, **kwargs):
        if isinstance(name, bool):  # Keras 3's second positional is `trainable`; Keras 1/2's was `name`
            kwargs["trainable"], name = name, None
        object.__setattr__(self, "_kerasfix_branches", ())
        super().__init__(layers=None, name=name, **kwargs)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if layers:
            self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        branches = getattr(layer, "_kerasfix_branches", None)
        if branches and not self._layers:
            object.__setattr__(self, "_kerasfix_branches", tuple(branches))
            self._layers.extend(branches)  # tracked, so the branches' weights belong to this model
            self._layers.append(layer)
            if rebuild:
                self._maybe_rebuild()
            return
        super().add(layer, rebuild=rebuild)

    def _maybe_rebuild(self):
        if not self._kerasfix_branches:
            return super()._maybe_rebuild()
        self.built = False
        self._functional = None
        branches = self._kerasfix_branches
        own = self._layers[len(branches):]
        inputs = []
        for branch in branches:
            inputs.extend(keras.Input(batch_shape=tuple(t.shape), dtype=t.dtype) for t in branch.inputs)
        position = 0
        outputs = []
        for branch in branches:
            count = len(branch.inputs)
            outputs.append(branch(inputs[position] if count == 1 else inputs[position : position + count]))
            position += count
        x = own[0](outputs)
        for layer in own[1:]:
            x = layer(x)
        from keras.src.models.functional import Functional

        self._functional = Functional(inputs=inputs, outputs=x)
        self.built = True

    def build(self, input_shape=None):
        if self._kerasfix_branches:
            return self._maybe_rebuild()
        return super().build(input_shape)

    @property
    def input(self):
        """Keras 1/2: a Sequential's input tensor (`K.function([model.input], ...)`), that of the model it builds."""
        functional = getattr(self, "_functional", None)
        return functional.input if functional is not None else super().input

    @property
    def output(self):
        functional = getattr(self, "_functional", None)
        return functional.output if functional is not None else super().output

    @property
    def input_dtype(self):
        if self._kerasfix_branches:
            return self._functional.input_dtype if self._functional else None
        return super().input_dtype

    def compile(self, *args, **kwargs):
        return keras.Sequential.compile(self, *args, **_compile_args(kwargs))


def _compile_args(kwargs: dict) -> dict:
    kwargs = dict(kwargs)
    for key in ("sample_weight_mode", "target_tensors"):
        kwargs.pop(key, None)
    loss = kwargs.get("loss")
    if isinstance(loss, str):
        kwargs["loss"] = LOSS_NAMES.get(loss, loss)
    return kwargs


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=None, tensor=None, **kwargs):
    if "input_dtype" in kwargs:
        dtype = kwargs.pop("input_dtype")
    return keras.Input(shape=shape, batch_shape=batch_shape, name=name, dtype=dtype, sparse=sparse, tensor=tensor, **kwargs)


def apply_initial_weights(layers) -> None:
    """Keras 1 `weights=[...]` on a layer: set once the layer is built (Keras 3 layers mostly lack the argument)."""
    for layer in layers:
        weights = layer.__dict__.get("_kerasfix_initial_weights") if hasattr(layer, "__dict__") else None
        if weights is not None and layer.built:
            layer.set_weights(weights)
            del layer.__dict__["_kerasfix_initial_weights"]


# ---------------------------------------------------------------------------------------------
# optimizers, regularizers, constraints, backend, utils

_OPTIMIZER_SIGNATURES = {
    "SGD": ["lr", "momentum", "decay", "nesterov"],
    "RMSprop": ["lr", "rho", "epsilon", "decay"],
    "Adagrad": ["lr", "epsilon", "decay"],
    "Adadelta": ["lr", "rho", "epsilon", "decay"],
    "Adam": ["lr", "beta_1", "beta_2", "epsilon", "decay"],
    "Adamax": ["lr", "beta_1", "beta_2", "epsilon", "decay"],
    "Nadam": ["lr", "beta_1", "beta_2", "epsilon", "schedule_decay"],
}


def _optimizer(name: str) -> type:
    base = getattr(keras.optimizers, name)

    def __init__(self, *args, **kwargs):
        kwargs = _bind(name, args, kwargs, _OPTIMIZER_SIGNATURES[name])
        kwargs = _rename(name, kwargs, {"lr": "learning_rate", "schedule_decay": None})
        decay = kwargs.pop("decay", 0.0) or 0.0
        if decay:
            rate = kwargs.get("learning_rate", 0.01 if name == "SGD" else 0.001)
            kwargs["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(rate, decay_steps=1, decay_rate=decay)
        if kwargs.get("epsilon", 0) is None:
            kwargs.pop("epsilon")
        base.__init__(self, **kwargs)

    return type(name, (base,), {"__init__": __init__, "__module__": __name__, "_kerasfix_compat": True})


def _regularizers() -> dict[str, Any]:
    R = keras.regularizers

    def l1(l=0.01, **kwargs):  # noqa: E741 - Keras 1's parameter name
        return R.L1(kwargs.get("l1", l))

    def l2(l=0.01, **kwargs):  # noqa: E741
        return R.L2(kwargs.get("l2", l))

    def l1_l2(l1=0.01, l2=0.01):
        return R.L1L2(l1=l1, l2=l2)

    def weight_regularizer(l1=0.0, l2=0.0):
        return R.L1L2(l1=l1, l2=l2)

    return {"l1": l1, "l2": l2, "l1_l2": l1_l2, "l1l2": l1_l2, "activity_l1": l1, "activity_l2": l2,
            "activity_l1l2": l1_l2, "WeightRegularizer": weight_regularizer, "ActivityRegularizer": weight_regularizer}


def _constraints() -> dict[str, Any]:
    C = keras.constraints

    def maxnorm(m=2, axis=0, **kwargs):
        return C.MaxNorm(max_value=kwargs.get("max_value", m), axis=axis)

    def unitnorm(axis=0):
        return C.UnitNorm(axis=axis)

    return {"maxnorm": maxnorm, "max_norm": maxnorm, "MaxNorm": maxnorm, "nonneg": C.NonNeg, "unitnorm": unitnorm}


def _backend() -> dict[str, Any]:
    ops = keras.ops

    def image_dim_ordering():
        return "th" if keras.config.image_data_format() == "channels_first" else "tf"

    def set_image_dim_ordering(dim_ordering):
        keras.config.set_image_data_format("channels_first" if dim_ordering == "th" else "channels_last")

    def int_shape(x):
        return tuple(x.shape)

    def concatenate(tensors, axis=-1):
        return ops.concatenate(tensors, axis=axis)

    def permute_dimensions(x, pattern):
        return ops.transpose(x, pattern)

    def l2_normalize(x, axis=None):
        return ops.normalize(x, axis=-1 if axis is None else axis)

    def expand_dims(x, axis=-1):  # Keras 1/2 default: a new last axis
        return ops.expand_dims(x, axis)

    def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, std=None):  # Keras 1 spelled stddev `std`
        return keras.random.normal(shape, mean=mean, stddev=stddev if std is None else std, dtype=dtype, seed=seed)

    def variable(value, dtype=None, name=None, constraint=None):  # Keras 1/2: floatx() unless a dtype is given
        return keras.Variable(value, dtype=dtype or keras.config.floatx(), name=name)

    def function(inputs, outputs, updates=None, name=None, **kwargs):
        """Keras 1/2's `K.function`: a callable on a list of arrays, over the model from `inputs` to `outputs`."""
        from kerasfix.verify.backend_function import BackendFunction, learning_phase_positions

        given = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        phase_at = learning_phase_positions(given)
        tensors = [t for index, t in enumerate(given) if index not in phase_at]
        model = keras.Model(inputs=tensors, outputs=list(outputs) if isinstance(outputs, (list, tuple)) else outputs)

        def run(values, training):
            result = model(values, training=training)
            arrays = [ops.convert_to_numpy(item) for item in keras.tree.flatten(result)]
            return arrays if isinstance(outputs, (list, tuple)) else arrays[0]

        return BackendFunction(model, phase_at, run)

    def bias_add(x, bias, data_format=None):  # Keras 2: the bias along the channels axis
        data_format = data_format or keras.config.image_data_format()
        rank, bias_rank = len(x.shape), len(bias.shape)
        if data_format == "channels_first" and rank > 2:
            if bias_rank == 1:
                return x + ops.reshape(bias, (1, bias.shape[0]) + (1,) * (rank - 2))
            return x + ops.expand_dims(ops.moveaxis(bias, -1, 0), 0)
        return x + bias

    def batch_dot(x, y, axes=None):
        axes = axes if axes is not None else [len(x.shape) - 1, len(y.shape) - 2]
        return _LAYERS.Dot(axes=axes)([x, y]) if keras.backend.is_keras_tensor(x) else ops.einsum("bi,bi->b", x, y)

    return {
        "image_dim_ordering": image_dim_ordering, "set_image_dim_ordering": set_image_dim_ordering, "function": function, "bias_add": bias_add,
        "int_shape": int_shape, "concatenate": concatenate, "permute_dimensions": permute_dimensions,
        "l2_normalize": l2_normalize, "batch_dot": batch_dot, "expand_dims": expand_dims, "random_normal": random_normal, "dot": ops.matmul, "learning_phase": lambda: 0,
        "set_learning_phase": lambda value: None, "variable": variable, "constant": ops.convert_to_tensor,
        "get_value": ops.convert_to_numpy, "ndim": ops.ndim, "shape": ops.shape,
        "image_data_format": keras.config.image_data_format, "set_image_data_format": keras.config.set_image_data_format,
        "floatx": keras.config.floatx, "set_floatx": keras.config.set_floatx, "epsilon": keras.config.epsilon,
        "set_epsilon": keras.config.set_epsilon, "clear_session": keras.backend.clear_session,
    }


def to_categorical(y, nb_classes=None, num_classes=None, **kwargs):
    return keras.utils.to_categorical(y, num_classes=num_classes if num_classes is not None else nb_classes)


def _no_output(*args, **kwargs):
    return None


# ---------------------------------------------------------------------------------------------
# modules


class CompatModule(types.ModuleType):
    """A module whose own members come first, then those of the real module it stands for."""

    def __init__(self, name: str, real: types.ModuleType | None = None, members: dict | None = None,
                 call: Callable | None = None) -> None:
        super().__init__(name)
        self.__dict__["_kerasfix_real"] = real
        self.__dict__["_kerasfix_call"] = call
        self.__dict__.update(members or {})
        public = set(members or {})
        if real is not None:
            public |= set(getattr(real, "__all__", None) or [n for n in dir(real) if not n.startswith("_")])
        self.__dict__["__all__"] = sorted(n for n in public if not n.startswith("_"))

    def __getattr__(self, attribute: str):
        child = _module(f"{self.__name__}.{attribute}", must_exist=False)
        if child is not None:
            self.__dict__[attribute] = child
            return child
        real = self.__dict__.get("_kerasfix_real")
        if real is not None:
            try:
                return getattr(real, attribute)
            except AttributeError:
                pass
        raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")

    def __call__(self, *args, **kwargs):  # `keras.layers.merge` is both a Keras 2 module and the Keras 1 function
        call = self.__dict__.get("_kerasfix_call")
        if call is None:
            raise TypeError(f"module {self.__name__!r} is not callable")
        return call(*args, **kwargs)


_LAYER_MODULES = ("core", "convolutional", "convolutional_recurrent", "recurrent", "cudnn_recurrent", "embeddings",
                  "pooling", "normalization", "advanced_activations", "noise", "wrappers", "local", "merge")
_UTILS_MODULES = ("np_utils", "generic_utils", "data_utils", "vis_utils", "layer_utils", "io_utils", "conv_utils",
                  "visualize_util")
_ENGINE_MODULES = ("topology", "training", "input_layer", "base_layer", "sequential", "functional", "network")
_MODULES: dict[str, types.ModuleType] = {}
_LAYERS_TABLE: dict[str, Any] = {}


def _build() -> None:
    if _MODULES:
        return
    _LAYERS_TABLE.update(_layer_table())
    layers = CompatModule("keras.layers", keras.layers, {**_LAYERS_TABLE, "Input": Input, "Layer": Layer})
    for sub in _LAYER_MODULES:
        _MODULES[f"keras.layers.{sub}"] = CompatModule(
            f"keras.layers.{sub}", keras.layers, {**_LAYERS_TABLE, "Input": Input, "Layer": Layer}, call=merge if sub == "merge" else None
        )
    _MODULES["keras.layers"] = layers
    _MODULES["keras.legacy"] = CompatModule("keras.legacy", None, {"layers": layers})
    _MODULES["keras.legacy.layers"] = layers
    models = CompatModule("keras.models", keras.models, {"Model": Model, "Sequential": Sequential, "Container": Model})
    _MODULES["keras.models"] = models
    engine_members = {"Model": Model, "Container": Model, "Network": Model, "Sequential": Sequential, "Input": Input,
                      "InputLayer": _LAYERS_TABLE["InputLayer"], "Layer": Layer, "InputSpec": keras.layers.InputSpec,
                      "Merge": Merge, "merge": merge, "get_source_inputs": keras.utils.get_source_inputs}
    _MODULES["keras.engine"] = CompatModule("keras.engine", None, engine_members)
    for sub in _ENGINE_MODULES:
        _MODULES[f"keras.engine.{sub}"] = CompatModule(f"keras.engine.{sub}", None, engine_members)
    optimizers = {name: _optimizer(name) for name in _OPTIMIZER_SIGNATURES}
    optimizers.update({name.lower(): cls for name, cls in optimizers.items()})
    _MODULES["keras.optimizers"] = CompatModule("keras.optimizers", keras.optimizers, optimizers)
    _MODULES["keras.optimizers.legacy"] = _MODULES["keras.optimizers"]
    _MODULES["keras.regularizers"] = CompatModule("keras.regularizers", keras.regularizers, _regularizers())
    _MODULES["keras.constraints"] = CompatModule("keras.constraints", keras.constraints, _constraints())
    _MODULES["keras.backend"] = CompatModule("keras.backend", keras.ops, {**vars_of(keras.backend), **_backend()})
    utils_members = {"to_categorical": to_categorical, "plot_model": _no_output, "plot": _no_output, "print_summary": _no_output}
    utils = CompatModule("keras.utils", keras.utils, utils_members)
    _MODULES["keras.utils"] = utils
    for sub in _UTILS_MODULES:
        _MODULES[f"keras.utils.{sub}"] = CompatModule(f"keras.utils.{sub}", keras.utils, utils_members)
    _MODULES["keras.objectives"] = CompatModule("keras.objectives", keras.losses)
    # Keras 2's `keras.backend_config` (tf.keras's `tensorflow.python.keras.backend_config`): epsilon, floatx,
    # image_data_format and their setters, which Keras 3 keeps in `keras.config`
    _MODULES["keras.backend_config"] = CompatModule("keras.backend_config", keras.config)
    _MODULES["keras.initializations"] = CompatModule("keras.initializations", keras.initializers, _initializations())
    root_members = {"Model": Model, "Sequential": Sequential, "Input": Input}
    root_members.update({name.split(".")[1]: module for name, module in _MODULES.items() if name.count(".") == 1})
    root = CompatModule("keras", keras, root_members)
    _MODULES["keras"] = root


def vars_of(module: types.ModuleType) -> dict:
    return {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}


def _module(name: str, must_exist: bool = True) -> types.ModuleType | None:
    """The module the original program sees for a dotted Keras (or TensorFlow) name."""
    _build()
    for prefix in ("tensorflow.python.keras", "tensorflow.compat.v1.keras", "tensorflow.compat.v2.keras", "tensorflow.keras", "tf_keras"):
        if name == prefix or name.startswith(prefix + "."):
            name = "keras" + name[len(prefix):]
            break
    if name in _MODULES:
        return _MODULES[name]
    if name.startswith("tensorflow"):
        return _tensorflow(name, must_exist)
    if not name.startswith("keras"):
        return None
    try:
        real = importlib.import_module(name)
    except ImportError:
        if must_exist:
            raise ModuleNotFoundError(f"No module named {name!r} (not in Keras 3 and not a Keras 1/2 module kerasfix maps)") from None
        return None
    if not isinstance(real, types.ModuleType):
        return None
    module = CompatModule(name, real)
    _MODULES[name] = module
    return module


def _tensorflow(name: str, must_exist: bool) -> types.ModuleType | None:
    if name not in ("tensorflow", "tensorflow.python", "tensorflow.compat", "tensorflow.compat.v1", "tensorflow.compat.v2"):
        try:
            return importlib.import_module(name)
        except ImportError:
            if must_exist:
                raise
            return None
    real = importlib.import_module(name)
    members = {"keras": _MODULES["keras"]}
    module = CompatModule(name, real, members)
    _MODULES[name] = module
    return module


def importer(real_import: Callable = builtins.__import__) -> Callable:
    """An `__import__` that answers Keras (and TensorFlow) imports with the compatibility modules."""
    _build()

    def compat_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] in ("keras", "tensorflow", "tf_keras"):
            module = _module(name)
            if fromlist:
                return module
            root = name.split(".")[0]
            return _module("keras" if root == "tf_keras" else root)
        return real_import(name, globals, locals, fromlist, level)

    return compat_import


def builtins_for_original() -> dict:
    namespace = dict(vars(builtins))
    namespace["__import__"] = importer(builtins.__import__)
    return namespace


def reset() -> None:
    """Global Keras state a program may have changed (image data format, float type)."""
    keras.config.set_image_data_format("channels_last")
    keras.config.set_floatx("float32")
    keras.config.set_epsilon(1e-7)
