"""Static output shapes and parameter counts of Keras 3 layers, computed from their arguments.

Standard library only: the linter must work where TensorFlow and Keras are not installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence


class _UnknownValue:
    """The type of `UNKNOWN`: a single shared instance, kept so by copy and pickle."""

    _instance: _UnknownValue | None = None

    def __new__(cls) -> _UnknownValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _UnknownValue()
"""A value the source does not state."""

Shape = tuple[int | None, ...] | None
"""A tensor shape including the batch axis; `None` for a shape of unknown rank, a `None` dim for an unknown size."""


class ShapeError(Exception):
    """Keras would reject these fully known input shapes when the model is built.

    `kind` is "merge" (merge layer inputs do not fit together), "negative_dim" (a window or crop larger
    than its input) or "rank" (an input of a rank the layer cannot take).
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class LayerInfo:
    """One layer's output shape (a list for several outputs) and parameter counts; None where unknown."""

    output_shape: Shape | list[Shape]
    params: int | None
    trainable_params: int | None
    non_trainable_params: int | None


def known_layer(type_name: str) -> bool:
    """Whether `infer_layer` can infer this layer type's output (Lambda and unknown types: no)."""
    spec = _LAYERS.get(_canonical(type_name))
    return spec is not None and spec.infer is not _lambda


def keras_class_name(type_name: str) -> str:
    """The class Keras reports for a layer written under an alias: `MaxPool2D` -> `MaxPooling2D`."""
    name = _canonical(type_name)
    return _CLASS_NAMES.get(name, name)


def bind_arguments(type_name: str, args: list, kwargs: dict) -> dict:
    """Name a constructor call's arguments as Keras 3 does: `Dense(64)` -> `{"units": 64}`.

    Raises TypeError where Python would (too many positional arguments, one given twice). An unknown
    layer type keeps only its keyword arguments, since its positional ones cannot be named.
    """
    spec = _LAYERS.get(_canonical(type_name))
    if spec is None:
        return dict(kwargs)
    if len(args) > len(spec.positional):
        raise TypeError(f"{type_name} takes at most {len(spec.positional)} positional arguments, got {len(args)}")
    bound = dict(zip(spec.positional, args))
    for name, value in kwargs.items():
        if name in bound:
            raise TypeError(f"{type_name} got multiple values for argument {name!r}")
        bound[name] = value
    return bound


def infer_layer(type_name: str, config: dict, input_shapes: list[Shape]) -> LayerInfo:
    """The output shape(s) and parameter counts of one layer applied to inputs of the given shapes.

    Whatever depends on an unknown value comes out as None. Raises ShapeError only where the shapes
    are known and Keras would fail to build the layer.
    """
    spec = _LAYERS.get(_canonical(type_name))
    if spec is None:
        return LayerInfo(None, None, None, None)
    try:
        return spec.run(type_name, config, list(input_shapes))
    except _Unresolved:
        return LayerInfo(None, None, None, None)


# --- internals ----------------------------------------------------------------------------------------

_MISSING: Any = object()
_CHANNELS = ("channels_last", "channels_first")

Output = Shape | list[Shape]


class _Unresolved(Exception):
    """The result depends on something unknown, or Keras would refuse the arguments themselves."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _prod(values: Iterable[int | None]) -> int | None:
    values = list(values)
    return None if any(v is None for v in values) else math.prod(values)  # type: ignore[arg-type]


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _times(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


def _fmt(shape: Shape) -> str:
    return "(unknown)" if shape is None else repr(tuple(shape))


def _axes_phrase(axes: Sequence[int]) -> str:
    words = [str(axis) for axis in axes]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass
class _Weights:
    """A layer's parameter counts, kept apart so that one unknown part leaves the others known."""

    total: int | None = 0
    trainable: int | None = 0
    frozen: int | None = 0

    def add(self, *dims: int | None, trainable: bool | None = True, present: bool | None = True) -> None:
        """Count one weight of shape `dims`; `present` is the switch (use_bias, center...) that creates it."""
        if present is False:
            return
        size = _prod(dims) if present else None
        self.total = _plus(self.total, size)
        if trainable is None:
            self.trainable = self.frozen = None
        elif trainable:
            self.trainable = _plus(self.trainable, size)
        else:
            self.frozen = _plus(self.frozen, size)

    def __add__(self, other: _Weights) -> _Weights:
        return _Weights(
            _plus(self.total, other.total), _plus(self.trainable, other.trainable), _plus(self.frozen, other.frozen)
        )

    def under(self, layer_trainable: bool | None) -> _Weights:
        # `trainable=False` on a layer freezes every weight it owns, whatever the weight's own flag.
        if layer_trainable is True:
            return self
        if layer_trainable is False:
            return _Weights(self.total, 0, self.total)
        return _Weights(self.total, None, None)

    @classmethod
    def of(cls, info: LayerInfo) -> _Weights:
        return cls(info.params, info.trainable_params, info.non_trainable_params)


class _Args:
    """One layer's arguments, read with Keras's defaults; values Keras would refuse raise _Unresolved."""

    def __init__(self, type_name: str, config: dict, defaults: dict) -> None:
        self.type_name = type_name
        self.config = {**defaults, **config}

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        value = self.config.get(name, default)
        if value is _MISSING:
            raise _Unresolved(f"{self.type_name}: missing argument {name}")
        return value

    def integer(self, name: str, default: Any = _MISSING, minimum: int = 1) -> int | None:
        value = self.raw(name, default)
        if value is UNKNOWN:
            return None
        if not _is_int(value) or value < minimum:
            raise _Unresolved(f"{self.type_name}: bad {name}={value!r}")
        return value

    def ints(self, name: str, n: int, default: Any = _MISSING, minimum: int = 1) -> tuple[int | None, ...]:
        return _int_tuple(self.raw(name, default), n, minimum)

    def flag(self, name: str, default: bool) -> bool | None:
        value = self.raw(name, default)
        return None if value is UNKNOWN else bool(value)

    def choice(self, name: str, default: Any, options: Sequence[Any], lower: bool = True) -> Any:
        value = self.raw(name, default)
        if value is UNKNOWN:
            return None
        if lower and isinstance(value, str):
            value = value.lower()
        if value not in options:
            raise _Unresolved(f"{self.type_name}: bad {name}={value!r}")
        return value

    def data_format(self) -> str | None:
        # None means Keras's configured image_data_format, assumed to be the default channels_last.
        value = self.raw("data_format", None)
        return "channels_last" if value is None else self.choice("data_format", None, _CHANNELS)

    def layer(self, name: str = "layer") -> tuple[str, dict]:
        value = self.raw(name)
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)
                and isinstance(value[1], dict)):
            raise _Unresolved(f"{self.type_name}: {name} is not a known layer")
        return value

    def rank(self, shape: Shape, rank: int) -> tuple[int | None, ...]:
        """The input shape, which must have exactly this rank (batch axis included)."""
        return self._check_rank(shape, len(shape or ()) == rank, f"rank {rank}")

    def min_rank(self, shape: Shape, rank: int) -> tuple[int | None, ...]:
        return self._check_rank(shape, len(shape or ()) >= rank, f"rank {rank} or more")

    def _check_rank(self, shape: Shape, fits: bool, wanted: str) -> tuple[int | None, ...]:
        if shape is None:
            raise _Unresolved(f"{self.type_name}: input shape unknown")
        if not fits:
            raise ShapeError(
                f"{self.type_name}: expects an input of {wanted} (batch axis included), "
                f"got {_fmt(shape)} of rank {len(shape)}",
                "rank",
            )
        return tuple(shape)


def _int_tuple(value: Any, n: int, minimum: int = 1) -> tuple[int | None, ...]:
    """Keras's standardize_tuple: an int repeated n times, or n ints; UNKNOWN parts become None."""
    if value is UNKNOWN:
        return (None,) * n
    if _is_int(value):
        items: Sequence[Any] = (value,) * n
    elif isinstance(value, (tuple, list)) and len(value) == n:
        items = value
    else:
        raise _Unresolved(f"expected {n} integers, got {value!r}")
    result = []
    for item in items:
        if item is UNKNOWN:
            result.append(None)
        elif _is_int(item) and item >= minimum:
            result.append(item)
        else:
            raise _Unresolved(f"expected integers >= {minimum}, got {value!r}")
    return tuple(result)


def _pair_tuple(value: Any, n: int) -> tuple[tuple[int | None, int | None], ...]:
    """Padding/cropping of the 2-D and 3-D layers: an int, n ints, or n (before, after) pairs."""
    if value is UNKNOWN:
        return ((None, None),) * n
    if _is_int(value):
        if value < 0:
            raise _Unresolved(f"negative padding {value}")
        return ((value, value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(_int_tuple(item, 2, minimum=0) for item in value)  # type: ignore[misc]
    raise _Unresolved(f"bad padding {value!r}")


def _spatial(shape: tuple[int | None, ...], fmt: str | None) -> tuple[list[int | None], int | None]:
    """The spatial dims and the channel count of a channels_last/first input; unknown format: all None."""
    if fmt == "channels_last":
        return list(shape[1:-1]), shape[-1]
    if fmt == "channels_first":
        return list(shape[2:]), shape[1]
    return [None] * (len(shape) - 2), None


def _assemble(batch: int | None, spatial: Sequence[int | None], channels: int | None, fmt: str | None) -> tuple:
    if fmt == "channels_first":
        return (batch, channels, *spatial)
    if fmt is None:  # where the channels go is unknown, so every non-batch dim is
        return (batch, *[None] * (len(spatial) + 1))
    return (batch, *spatial, channels)


# --- convolution and pooling windows ------------------------------------------------------------------


def _window_out(
    size: int | None, window: int | None, stride: int | None, dilation: int | None, padding: str | None
) -> int | None:
    """One spatial output dim of a convolution or pooling (Keras's floor arithmetic)."""
    if size is None or stride is None or padding is None:
        return None
    if padding == "valid":
        if window is None or dilation is None:
            return None
        return (size - dilation * (window - 1) - 1) // stride + 1
    return (size - 1) // stride + 1  # "same" and "causal" keep ceil(size / stride)


def _windows(
    a: _Args, x: tuple, fmt: str | None, window: tuple, strides: tuple, dilation: tuple, padding: str | None
) -> list[int | None]:
    """The spatial output dims of a convolution or pooling; a window that does not fit is a ShapeError."""
    spatial, _ = _spatial(x, fmt)
    first_axis = 2 if fmt == "channels_first" else 1
    out = []
    for axis, (size, k, s, d) in enumerate(zip(spatial, window, strides, dilation), start=first_axis):
        dim = _window_out(size, k, s, d, padding)
        if dim is not None and dim <= 0:
            reach = k if d == 1 else f"{k} (dilated to {d * (k - 1) + 1})"
            raise ShapeError(
                f"{a.type_name}: window {reach} is larger than the input's {size} on axis {axis} of "
                f"{_fmt(x)} with padding='valid'",
                "negative_dim",
            )
        out.append(dim)
    return out


def _conv_checks(a: _Args, strides: tuple, dilation: tuple) -> None:
    # Keras refuses strided dilated convolutions in the constructor.
    if any(s is not None and s > 1 for s in strides) and any(d is not None and d > 1 for d in dilation):
        raise _Unresolved(f"{a.type_name}: strides and dilation_rate both > 1")


def _lora(a: _Args) -> int | None | bool:
    """The LoRA rank: False when LoRA is off, None when unknown."""
    value = a.raw("lora_rank", None)
    if value is UNKNOWN:
        return None
    return a.integer("lora_rank") if value else False


def _add_kernel(weights: _Weights, kernel_dims: Sequence[int | None], lora: int | None | bool) -> None:
    # LoRA freezes the kernel and trains two low-rank factors: (kernel_dims[:-1], r) and (r, kernel_dims[-1]).
    if lora is False:
        weights.add(*kernel_dims)
        return
    known = None if lora is None else True
    weights.add(*kernel_dims, trainable=None if lora is None else False)
    weights.add(*kernel_dims[:-1], lora, present=known)
    weights.add(lora, kernel_dims[-1], present=known)


def _conv(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        filters = a.integer("filters")
        kernel = a.ints("kernel_size", rank)
        strides = a.ints("strides", rank, 1)
        dilation = a.ints("dilation_rate", rank, 1)
        groups = a.integer("groups", 1)
        padding = a.choice("padding", "valid", ("valid", "same", "causal") if rank == 1 else ("valid", "same"))
        fmt = a.data_format()
        use_bias = a.flag("use_bias", True)
        lora = _lora(a)
        _conv_checks(a, strides, dilation)
        if filters is not None and groups is not None and filters % groups:
            raise _Unresolved("filters not divisible by groups")
        x = a.rank(shape, rank + 2)
        _, channels = _spatial(x, fmt)
        out = _windows(a, x, fmt, kernel, strides, dilation, padding)
        if channels is not None and groups is not None and channels % groups:
            raise _Unresolved("input channels not divisible by groups")
        per_group = None if channels is None or groups is None else channels // groups
        weights = _Weights()
        _add_kernel(weights, (*kernel, per_group, filters), lora)
        weights.add(filters, present=use_bias)
        return _assemble(x[0], out, filters, fmt), weights

    return infer


def _conv_transpose(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        filters = a.integer("filters")
        kernel = a.ints("kernel_size", rank)
        strides = a.ints("strides", rank, 1)
        dilation = a.ints("dilation_rate", rank, 1)
        padding = a.choice("padding", "valid", ("valid", "same"))
        out_pad_value = a.raw("output_padding", None)
        out_pad = None if out_pad_value is None else _int_tuple(out_pad_value, rank, minimum=0)
        fmt = a.data_format()
        use_bias = a.flag("use_bias", True)
        _conv_checks(a, strides, dilation)
        if out_pad is not None and any(p is not None and s is not None and p >= s for p, s in zip(out_pad, strides)):
            raise _Unresolved("output_padding must be smaller than strides")
        x = a.rank(shape, rank + 2)
        spatial, channels = _spatial(x, fmt)
        out = [
            _transpose_out(size, k, s, d, padding, None if out_pad is None else out_pad[i], out_pad is None)
            for i, (size, k, s, d) in enumerate(zip(spatial, kernel, strides, dilation))
        ]
        weights = _Weights()
        weights.add(*kernel, filters, channels)
        weights.add(filters, present=use_bias)
        return _assemble(x[0], out, filters, fmt), weights

    return infer


def _transpose_out(
    size: int | None, kernel: int | None, stride: int | None, dilation: int | None, padding: str | None,
    out_pad: int | None, default_pad: bool,
) -> int | None:
    """One spatial output dim of a transposed convolution; output_padding=None picks Keras's default."""
    if size is None or kernel is None or stride is None or dilation is None or padding is None:
        return None
    if out_pad is None and not default_pad:
        return None
    reach = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(reach, stride) - reach if default_pad else out_pad
        return (size - 1) * stride + reach + extra
    if default_pad:
        return size * stride
    return (size - 1) * stride + reach % 2 + out_pad


def _separable(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        filters = a.integer("filters")
        kernel = a.ints("kernel_size", rank)
        strides = a.ints("strides", rank, 1)
        dilation = a.ints("dilation_rate", rank, 1)
        multiplier = a.integer("depth_multiplier", 1)
        padding = a.choice("padding", "valid", ("valid", "same"))
        fmt = a.data_format()
        use_bias = a.flag("use_bias", True)
        x = a.rank(shape, rank + 2)
        _, channels = _spatial(x, fmt)
        out = _windows(a, x, fmt, kernel, strides, dilation, padding)
        weights = _Weights()
        weights.add(*kernel, channels, multiplier)
        weights.add(_times(multiplier, channels), filters)
        weights.add(filters, present=use_bias)
        return _assemble(x[0], out, filters, fmt), weights

    return infer


def _depthwise(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        kernel = a.ints("kernel_size", rank)
        strides = a.ints("strides", rank, 1)
        dilation = a.ints("dilation_rate", rank, 1)
        multiplier = a.integer("depth_multiplier", 1)
        padding = a.choice("padding", "valid", ("valid", "same"))
        fmt = a.data_format()
        use_bias = a.flag("use_bias", True)
        x = a.rank(shape, rank + 2)
        _, channels = _spatial(x, fmt)
        out = _windows(a, x, fmt, kernel, strides, dilation, padding)
        out_channels = _times(multiplier, channels)
        weights = _Weights()
        weights.add(*kernel, channels, multiplier)
        weights.add(out_channels, present=use_bias)
        return _assemble(x[0], out, out_channels, fmt), weights

    return infer


def _pooling(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        pool = a.ints("pool_size", rank)
        stride_value = a.raw("strides", None)
        strides = pool if stride_value is None else _int_tuple(stride_value, rank)
        # Keras compares the pooling padding without lower-casing it: "SAME" fails there.
        padding = a.choice("padding", "valid", ("valid", "same"), lower=False)
        fmt = a.data_format()
        x = a.rank(shape, rank + 2)
        _, channels = _spatial(x, fmt)
        out = _windows(a, x, fmt, pool, strides, (1,) * rank, padding)
        return _assemble(x[0], out, channels, fmt), _Weights()

    return infer


def _global_pooling(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        fmt = a.data_format()
        keepdims = a.flag("keepdims", False)
        x = a.rank(shape, rank + 2)
        _, channels = _spatial(x, fmt)
        if keepdims is None:
            return None, _Weights()
        if not keepdims:
            return (x[0], channels), _Weights()
        return _assemble(x[0], (1,) * rank, channels, fmt), _Weights()

    return infer


# --- core, activation, regularization -----------------------------------------------------------------


def _identity(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    if shape is None:
        raise _Unresolved("input shape unknown")
    return tuple(shape), _Weights()


def _requires(*names: str) -> Callable:
    """An identity layer whose listed arguments have no default."""

    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        for name in names:
            a.raw(name)
        return _identity(a, shape)

    return infer


def _spatial_dropout(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        a.raw("rate")
        return a.rank(shape, rank + 2), _Weights()

    return infer


def _dense(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    units = a.integer("units")
    use_bias = a.flag("use_bias", True)
    lora = _lora(a)
    x = a.min_rank(shape, 2)
    weights = _Weights()
    _add_kernel(weights, (x[-1], units), lora)
    weights.add(units, present=use_bias)
    return (*x[:-1], units), weights


def _prelu(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    shared = a.raw("shared_axes", None)
    x = a.min_rank(shape, 1)
    alpha = list(x[1:])
    if shared is UNKNOWN:
        return x, _Weights(None, None, None)
    for axis in [] if shared is None else shared if isinstance(shared, (list, tuple)) else [shared]:
        if axis is UNKNOWN:
            return x, _Weights(None, None, None)
        if not _is_int(axis) or not -len(alpha) <= axis - 1 < len(alpha):
            raise _Unresolved(f"PReLU: bad shared axis {axis!r}")
        alpha[axis - 1] = 1
    weights = _Weights()
    weights.add(*alpha)
    return x, weights


def _flatten(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    a.data_format()  # channels_first only reorders the flattened values
    x = a.min_rank(shape, 1)
    return (x[0], _prod(x[1:]) if len(x) > 1 else 1), _Weights()


def _reshape(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    target = a.raw("target_shape")
    if target is UNKNOWN:
        raise _Unresolved("target_shape unknown")
    if not isinstance(target, (tuple, list)):
        raise _Unresolved(f"Reshape: bad target_shape {target!r}")
    dims: list[int | None] = []
    for dim in target:
        if dim is UNKNOWN or dim is None:
            dims.append(None)
        elif _is_int(dim) and dim >= -1:
            dims.append(dim)
        else:
            raise _Unresolved(f"Reshape: bad target_shape {target!r}")
    if dims.count(-1) > 1:
        raise _Unresolved("Reshape: more than one -1")
    x = a.min_rank(shape, 1)
    rest = x[1:]
    if None in rest or None in dims:
        return (x[0], *(None if d == -1 else d for d in dims)), _Weights()
    size, known = math.prod(rest), math.prod(d for d in dims if d != -1)  # type: ignore[misc]
    if -1 not in dims:
        if size != known:
            raise _Unresolved("Reshape: total size changes")  # a real error, but not one of ShapeError's kinds
        return (x[0], *dims), _Weights()
    if known == 0 or size % known:
        raise _Unresolved("Reshape: size not divisible")
    return (x[0], *(size // known if d == -1 else d for d in dims)), _Weights()


def _permute(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    dims = a.raw("dims")
    if dims is UNKNOWN or not isinstance(dims, (tuple, list)) or UNKNOWN in dims:
        raise _Unresolved("Permute: dims unknown")
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise _Unresolved(f"Permute: bad dims {dims!r}")
    x = a.rank(shape, len(dims) + 1)
    return (x[0], *(x[d] for d in dims)), _Weights()


def _repeat_vector(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    n = a.integer("n")
    x = a.rank(shape, 2)
    return (x[0], n, x[1]), _Weights()


def _upsampling(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        if rank == 1:
            size: tuple[int | None, ...] = (a.integer("size", 2),)
            fmt: str | None = "channels_last"
        else:
            size = a.ints("size", rank, 2)
            fmt = a.data_format()
            if rank == 2:
                a.raw("interpolation", "nearest")
        x = a.rank(shape, rank + 2)
        spatial, channels = _spatial(x, fmt)
        return _assemble(x[0], [_times(n, f) for n, f in zip(spatial, size)], channels, fmt), _Weights()

    return infer


def _zero_padding(rank: int) -> Callable:
    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        value = a.raw("padding", 1)
        pads = (_int_tuple(value, 2, minimum=0),) if rank == 1 else _pair_tuple(value, rank)
        fmt = a.data_format()
        x = a.rank(shape, rank + 2)
        spatial, channels = _spatial(x, fmt)
        out = [_plus(n, _plus(*pad)) for n, pad in zip(spatial, pads)]
        return _assemble(x[0], out, channels, fmt), _Weights()

    return infer


def _cropping(rank: int) -> Callable:
    defaults = {1: (1, 1), 2: ((0, 0), (0, 0)), 3: ((1, 1), (1, 1), (1, 1))}

    def infer(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
        value = a.raw("cropping", defaults[rank])
        crops = (_int_tuple(value, 2, minimum=0),) if rank == 1 else _pair_tuple(value, rank)
        fmt = a.data_format() if rank > 1 else "channels_last"
        x = a.rank(shape, rank + 2)
        spatial, channels = _spatial(x, fmt)
        out = []
        for axis, (n, crop) in enumerate(zip(spatial, crops), start=2 if fmt == "channels_first" else 1):
            removed = None if None in crop else sum(crop)  # type: ignore[arg-type]
            left = None if n is None or removed is None else n - removed
            if left is not None and left <= 0:
                raise ShapeError(
                    f"{a.type_name}: cropping {crop} leaves nothing of the input's {n} on axis {axis} of {_fmt(x)}",
                    "negative_dim",
                )
            out.append(left)
        return _assemble(x[0], out, channels, fmt), _Weights()

    return infer


# --- normalization, embedding, recurrent --------------------------------------------------------------


def _axis_dims(a: _Args, x: tuple, axes: Sequence[Any]) -> list[int | None]:
    dims = []
    for axis in axes:
        if not -len(x) <= axis < len(x):
            raise ShapeError(f"{a.type_name}: axis {axis} is out of range for input {_fmt(x)} of rank {len(x)}", "rank")
        dims.append(x[axis])
    return dims


def _batch_norm(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    axis = a.raw("axis", -1)
    if axis is not UNKNOWN and not _is_int(axis):
        raise _Unresolved("BatchNormalization: axis must be one int")
    center, scale, renorm = a.flag("center", True), a.flag("scale", True), a.flag("renorm", False)
    x = a.min_rank(shape, 1)
    channels = None if axis is UNKNOWN else _axis_dims(a, x, [axis])[0]
    weights = _Weights()
    weights.add(channels, present=scale)  # gamma and beta are trained; the statistics are not
    weights.add(channels, present=center)
    weights.add(2, channels, trainable=False)  # moving mean and variance
    weights.add(3, channels, trainable=False, present=renorm)  # renorm's moving stddev, mean and stddev
    return x, weights


def _layer_norm(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    axis = a.raw("axis", -1)
    center, scale, rms = a.flag("center", True), a.flag("scale", True), a.flag("rms_scaling", False)
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if not all(item is UNKNOWN or _is_int(item) for item in axes):
        raise _Unresolved("LayerNormalization: bad axis")
    x = a.min_rank(shape, 1)
    size = None if UNKNOWN in axes else _prod(_axis_dims(a, x, axes))
    has_gamma = None if scale is None or rms is None else scale or rms
    has_beta = None if center is None or rms is None else center and not rms
    weights = _Weights()
    weights.add(size, present=has_gamma)
    weights.add(size, present=has_beta)
    return x, weights


def _embedding(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    input_dim, output_dim = a.integer("input_dim"), a.integer("output_dim")
    weights = _Weights()
    _add_kernel(weights, (input_dim, output_dim), _lora(a))
    # Embedding looks up any rank of integer ids; its weights do not depend on the input shape.
    return (None if shape is None else (*shape, output_dim)), weights


_RNN_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_RNN_STATES = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}


def _rnn(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    kind = _canonical(a.type_name)
    gates = _RNN_GATES[kind]
    units = a.integer("units")
    use_bias = a.flag("use_bias", True)
    sequences, state = a.flag("return_sequences", False), a.flag("return_state", False)
    # GRU's default reset_after=True keeps separate input and recurrent biases: two rows of 3*units.
    bias_rows = 1 if kind != "GRU" else {True: 2, False: 1, None: None}[a.flag("reset_after", True)]
    x = a.rank(shape, 3)
    weights = _Weights()
    weights.add(x[2], gates, units)
    weights.add(units, gates, units)
    weights.add(bias_rows, gates, units, present=use_bias)
    if sequences is None or state is None:
        return None, weights
    output = (x[0], x[1], units) if sequences else (x[0], units)
    if not state:
        return output, weights
    return [output, *[(x[0], units)] * _RNN_STATES[kind]], weights


def _inner(a: _Args, shape: Shape, allowed: Iterable[str] | None = None, name: str = "layer") -> LayerInfo:
    """Infer a wrapped layer, naming the wrapper in any shape error."""
    type_name, config = a.layer(name)
    if allowed is not None and _canonical(type_name) not in allowed:
        raise _Unresolved(f"{a.type_name} cannot wrap {type_name}")
    try:
        return infer_layer(type_name, config, [shape])
    except ShapeError as error:
        message = str(error).removeprefix(f"{type_name}:")
        raise ShapeError(f"{a.type_name}({type_name}):{message}", error.kind) from error


def _bidirectional(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    mode = a.raw("merge_mode", "concat")
    if mode is not UNKNOWN and mode not in ("concat", "sum", "mul", "ave", None):
        raise _Unresolved(f"Bidirectional: bad merge_mode {mode!r}")
    forward = _inner(a, shape, _RNN_GATES)
    # Without backward_layer Keras copies the forward layer's config: the same weights again.
    backward = forward if a.raw("backward_layer", None) is None else _inner(a, shape, _RNN_GATES, "backward_layer")
    weights = _Weights.of(forward) + _Weights.of(backward)
    out = forward.output_shape
    sequence, states = (out[0], out[1:]) if isinstance(out, list) else (out, [])
    if sequence is None or mode is UNKNOWN:
        return None, weights
    if mode is None:
        merged: list[Shape] = [sequence, sequence]
    elif mode == "concat":
        merged = [(*sequence[:-1], _times(sequence[-1], 2))]
    else:
        merged = [sequence]
    if not isinstance(out, list) and mode is not None:
        return merged[0], weights
    return [*merged, *states, *states], weights


def _time_distributed(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    if shape is None:
        return None, _Weights.of(_inner(a, None))
    x = a.min_rank(shape, 3)
    inner = _inner(a, (x[0], *x[2:]))
    out = inner.output_shape
    if out is None or isinstance(out, list):
        return None, _Weights.of(inner)
    return (out[0], x[1], *out[1:]), _Weights.of(inner)


# --- merging -------------------------------------------------------------------------------------------


def _merge_error(a: _Args, first: Shape, second: Shape, axes: Sequence[int], note: str = "") -> ShapeError:
    return ShapeError(
        f"{a.type_name}: inputs {_fmt(first)} and {_fmt(second)} differ on axis {_axes_phrase(axes)}{note}", "merge"
    )


def _merge_inputs(a: _Args, shapes: list[Shape], count: int | None = None, same_batch: bool = True) -> list[tuple]:
    if not shapes or (count is not None and len(shapes) != count):
        if shapes and all(s is not None for s in shapes) and count is not None:
            raise ShapeError(f"{a.type_name}: takes exactly {count} inputs, got {len(shapes)}", "merge")
        raise _Unresolved(f"{a.type_name}: bad inputs")
    if any(s is None for s in shapes):
        raise _Unresolved("an input shape is unknown")
    batches = {s[0] for s in shapes if s} - {None}
    if same_batch and len(batches) > 1:
        first = next(s for s in shapes if s and s[0] is not None)
        second = next(s for s in shapes if s and s[0] not in (None, first[0]))
        raise _merge_error(a, first, second, [0], " (the batch size)")
    return [tuple(s) for s in shapes]  # type: ignore[arg-type]


def _broadcast(a: _Args, shapes: list[tuple]) -> tuple:
    """Keras's fold over the non-batch dims, aligned from the end: None absorbs anything, 1 broadcasts."""
    acc: tuple = shapes[0][1:]
    for index, shape in enumerate(shapes[1:], start=1):
        other = shape[1:]
        merged = []
        for back in range(1, max(len(acc), len(other)) + 1):
            if back > len(acc) or back > len(other):
                merged.append(acc[-back] if back <= len(acc) else other[-back])
                continue
            i, j = acc[-back], other[-back]
            if i is None or j is None:
                merged.append(None)
            elif i == 1 or j == 1 or i == j:
                merged.append(j if i == 1 else i)
            else:
                # The clashing size came from an earlier input; name that one.
                culprit = next(s for s in shapes[:index] if len(s) > back and s[-back] == i)
                raise _merge_error(a, culprit, shape, [max(len(culprit), len(shape)) - back])
        acc = tuple(reversed(merged))
    batches = {s[0] for s in shapes} - {None}
    return (batches.pop() if batches else None, *acc)


def _elementwise(a: _Args, shapes: list[Shape]) -> tuple[Output, _Weights]:
    exact = 2 if _canonical(a.type_name) == "Subtract" else None
    return _broadcast(a, _merge_inputs(a, shapes, exact)), _Weights()


def _concatenate(a: _Args, shapes: list[Shape]) -> tuple[Output, _Weights]:
    axis = a.raw("axis", -1)
    if axis is UNKNOWN:
        raise _Unresolved("axis unknown")
    if not _is_int(axis):
        raise _Unresolved("Concatenate: bad axis")
    inputs = _merge_inputs(a, shapes, same_batch=False)  # concatenating along the batch axis is allowed
    first = inputs[0]
    for shape in inputs:
        if len(shape) != len(first):
            raise ShapeError(f"{a.type_name}: inputs {_fmt(first)} and {_fmt(shape)} have different ranks", "merge")
    if not -len(first) <= axis < len(first):
        raise ShapeError(f"{a.type_name}: axis {axis} is out of range for inputs of rank {len(first)}", "rank")
    along = axis % len(first)
    # Keras compares the known sizes of each other axis across all inputs; None matches anything.
    clash = [i for i in range(len(first)) if i != along and len({s[i] for s in inputs} - {None}) > 1]
    if clash:
        one = next(s for s in inputs if s[clash[0]] is not None)
        other = next(s for s in inputs if s[clash[0]] not in (None, one[clash[0]]))
        raise _merge_error(a, one, other, [i for i in clash if None not in (one[i], other[i]) and one[i] != other[i]])
    # Beyond the check, Keras takes every other dim from the first input, even a None.
    output = list(first)
    sizes = [s[along] for s in inputs]
    output[along] = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    return tuple(output), _Weights()


def _dot(a: _Args, shapes: list[Shape]) -> tuple[Output, _Weights]:
    axes = a.raw("axes")
    a.raw("normalize", False)
    if axes is UNKNOWN or (isinstance(axes, (list, tuple)) and UNKNOWN in axes):
        raise _Unresolved("axes unknown")
    if not (_is_int(axes) or (isinstance(axes, (list, tuple)) and len(axes) == 2 and all(_is_int(v) for v in axes))):
        raise _Unresolved(f"Dot: bad axes {axes!r}")
    first, second = _merge_inputs(a, shapes, 2)
    if _is_int(axes):
        pair = [axes % len(first), axes % len(second)] if axes < 0 else [axes, axes]
    else:
        pair = list(axes)
    for shape, axis in ((first, pair[0]), (second, pair[1])):
        if not -len(shape) <= axis < len(shape):
            raise ShapeError(f"{a.type_name}: axis {axis} is out of range for input {_fmt(shape)}", "rank")
    p, q = first[pair[0]], second[pair[1]]
    if None not in (p, q) and p != q:
        raise ShapeError(
            f"{a.type_name}: inputs {_fmt(first)} and {_fmt(second)} differ on the contracted axes "
            f"{pair[0]} and {pair[1]} ({p} vs {q})",
            "merge",
        )
    left, right = list(first), list(second)
    left.pop(pair[0])
    right.pop(pair[1])
    right.pop(0)
    output = left + right
    return tuple(output + [1] if len(output) == 1 else output), _Weights()


# --- input --------------------------------------------------------------------------------------------


def _shape_value(value: Any) -> tuple[int | None, ...] | None:
    if value is UNKNOWN:
        return None
    if not isinstance(value, (tuple, list)):
        raise _Unresolved(f"bad shape {value!r}")
    dims: list[int | None] = []
    for dim in value:
        if dim is None or dim is UNKNOWN:
            dims.append(None)
        elif _is_int(dim) and dim >= 0:
            dims.append(dim)
        else:
            raise _Unresolved(f"bad shape {value!r}")
    return tuple(dims)


def _input(a: _Args, shapes: list[Shape]) -> tuple[Output, _Weights]:
    if a.raw("tensor", None) is not None or a.raw("input_tensor", None) is not None:
        raise _Unresolved("input from an existing tensor")
    shape = a.raw("shape", a.raw("input_shape", None))
    batch_shape = a.raw("batch_shape", a.raw("batch_input_shape", None))
    batch_size = a.raw("batch_size", None)
    if (shape is None) == (batch_shape is None) or (batch_size is not None and batch_shape is not None):
        raise _Unresolved("Input needs exactly one of shape and batch_shape")
    if batch_shape is not None:
        return _shape_value(batch_shape), _Weights()
    dims = _shape_value(shape)
    batch = None if batch_size is None else a.integer("batch_size")
    return (None if dims is None else (batch, *dims)), _Weights()


def _lambda(a: _Args, shape: Shape) -> tuple[Output, _Weights]:
    # Keras traces the function to find the shape; weights created inside a Lambda are not tracked.
    return None, _Weights()


# --- the table ----------------------------------------------------------------------------------------

_LAYER_KWARGS = frozenset(
    "activity_regularizer trainable dtype autocast name input_shape input_dim batch_input_shape".split()
)


@dataclass(frozen=True)
class _Spec:
    infer: Callable[..., tuple[Output, _Weights]]
    positional: tuple[str, ...]
    accepted: frozenset[str]
    arity: str  # "one" input, "many" (merge layers) or "none" (Input)
    weightless: bool
    defaults: dict

    def run(self, type_name: str, config: dict, shapes: list[Shape]) -> LayerInfo:
        unexpected = set(config) - self.accepted
        if unexpected:
            # Keras 3 raises on an argument it does not know, so no layer (and no shape) exists.
            raise _Unresolved(f"{type_name}: unexpected arguments {sorted(unexpected)}")
        a = _Args(type_name, config, self.defaults)
        if self.arity != "one":
            output, weights = self.infer(a, shapes)
        elif len(shapes) != 1:
            raise _Unresolved(f"{type_name} takes one input")
        elif shapes[0] is None and self.weightless:
            output, weights = None, _Weights()
        else:
            output, weights = self.infer(a, shapes[0])
        weights = weights.under(a.flag("trainable", True))
        return LayerInfo(_clean(output), weights.total, weights.trainable, weights.frozen)


def _clean(output: Output) -> Output:
    if isinstance(output, list):
        return [_clean(item) for item in output]  # type: ignore[misc]
    return None if output is None else tuple(output)


_LAYERS: dict[str, _Spec] = {}
_ALIASES: dict[str, str] = {}


def _register(
    names: str,
    infer: Callable[..., tuple[Output, _Weights]],
    positional: str,
    extra: str = "",
    *,
    arity: str = "one",
    weightless: bool = False,
    layer_kwargs: bool = True,
    defaults: dict | None = None,
) -> None:
    """Register a layer under its name and aliases, with its constructor's positional parameters."""
    main, *aliases = names.split()
    params = tuple(positional.split())
    accepted = frozenset(params) | frozenset(extra.split()) | (_LAYER_KWARGS if layer_kwargs else frozenset())
    _LAYERS[main] = _Spec(infer, params, accepted, arity, weightless, defaults or {})
    for alias in aliases:
        _ALIASES[alias] = main


def _canonical(type_name: str) -> str:
    return _ALIASES.get(type_name, type_name)


_CONV_TAIL = (
    "activation use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer "
    "activity_regularizer kernel_constraint bias_constraint"
)
_SEPARABLE_TAIL = (
    "depth_multiplier activation use_bias depthwise_initializer pointwise_initializer bias_initializer "
    "depthwise_regularizer pointwise_regularizer bias_regularizer activity_regularizer depthwise_constraint "
    "pointwise_constraint bias_constraint"
)
_DEPTHWISE = (
    "kernel_size strides padding depth_multiplier data_format dilation_rate activation use_bias "
    "depthwise_initializer bias_initializer depthwise_regularizer bias_regularizer activity_regularizer "
    "depthwise_constraint bias_constraint"
)
_RNN_COMMON = (
    "kernel_regularizer recurrent_regularizer bias_regularizer activity_regularizer kernel_constraint "
    "recurrent_constraint bias_constraint dropout recurrent_dropout"
)
_RNN_FLAGS = "return_sequences return_state go_backwards stateful unroll"

_register("InputLayer", _input, "shape batch_size dtype sparse ragged batch_shape input_tensor optional name",
          "input_shape batch_input_shape", arity="none", layer_kwargs=False)
_register("Input", _input, "shape batch_size dtype sparse ragged batch_shape name tensor optional",
          arity="none", layer_kwargs=False)
_register("Dense", _dense,
          "units activation use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer "
          "activity_regularizer kernel_constraint bias_constraint lora_rank lora_alpha quantization_config")
_register("Activation", _requires("activation"), "activation", weightless=True)
_register("ReLU", _identity, "max_value negative_slope threshold", weightless=True)
_register("LeakyReLU", _identity, "negative_slope", "alpha", weightless=True)
_register("PReLU", _prelu, "alpha_initializer alpha_regularizer alpha_constraint shared_axes")
_register("ELU", _identity, "alpha", weightless=True)
_register("Softmax", _identity, "axis", weightless=True)
_register("Masking", _identity, "mask_value", weightless=True)
_register("Identity", _identity, "", weightless=True)
_register("Dropout", _requires("rate"), "rate noise_shape seed", weightless=True)
_register("AlphaDropout", _requires("rate"), "rate noise_shape seed", weightless=True)
_register("GaussianDropout", _requires("rate"), "rate seed", weightless=True)
_register("GaussianNoise", _requires("stddev"), "stddev seed", weightless=True)
_register("ActivityRegularization", _identity, "l1 l2", weightless=True)
# SpatialDropout's constructors take no **kwargs, so not even `trainable=` is accepted.
_register("SpatialDropout1D", _spatial_dropout(1), "rate seed name dtype", "input_shape input_dim batch_input_shape",
          weightless=True, layer_kwargs=False)
for _rank in (2, 3):
    _register(f"SpatialDropout{_rank}D", _spatial_dropout(_rank), "rate data_format seed name dtype",
              "input_shape input_dim batch_input_shape", weightless=True, layer_kwargs=False)
_register("Flatten", _flatten, "data_format", weightless=True)
_register("Reshape", _reshape, "target_shape", weightless=True)
_register("Permute", _permute, "dims", weightless=True)
_register("RepeatVector", _repeat_vector, "n", weightless=True)
_register("Lambda", _lambda, "function output_shape mask arguments", weightless=True)

for _rank in (1, 2, 3):
    _register(f"Conv{_rank}D Convolution{_rank}D", _conv(_rank),
              f"filters kernel_size strides padding data_format dilation_rate groups {_CONV_TAIL}",
              "lora_rank lora_alpha")
    _transpose_order = "output_padding data_format" if _rank < 3 else "data_format output_padding"
    _register(f"Conv{_rank}DTranspose Convolution{_rank}DTranspose", _conv_transpose(_rank),
              f"filters kernel_size strides padding {_transpose_order} dilation_rate {_CONV_TAIL}")
    _register(f"MaxPooling{_rank}D MaxPool{_rank}D", _pooling(_rank), "pool_size strides padding data_format name",
              weightless=True, defaults={"pool_size": 2})
    _register(f"AveragePooling{_rank}D AvgPool{_rank}D", _pooling(_rank), "pool_size strides padding data_format name",
              weightless=True)
    _register(f"GlobalMaxPooling{_rank}D GlobalMaxPool{_rank}D", _global_pooling(_rank), "data_format keepdims",
              weightless=True)
    _register(f"GlobalAveragePooling{_rank}D GlobalAvgPool{_rank}D", _global_pooling(_rank), "data_format keepdims",
              weightless=True)
    _register(f"UpSampling{_rank}D", _upsampling(_rank),
              {1: "size", 2: "size data_format interpolation", 3: "size data_format"}[_rank], weightless=True)
    _register(f"ZeroPadding{_rank}D", _zero_padding(_rank), "padding data_format", weightless=True)
    _register(f"Cropping{_rank}D", _cropping(_rank), "cropping" if _rank == 1 else "cropping data_format",
              weightless=True)
for _rank in (1, 2):
    _register(f"SeparableConv{_rank}D SeparableConvolution{_rank}D", _separable(_rank),
              f"filters kernel_size strides padding data_format dilation_rate {_SEPARABLE_TAIL}")
    _register(f"DepthwiseConv{_rank}D", _depthwise(_rank), _DEPTHWISE)

_register("BatchNormalization", _batch_norm,
          "axis momentum epsilon center scale beta_initializer gamma_initializer moving_mean_initializer "
          "moving_variance_initializer beta_regularizer gamma_regularizer beta_constraint gamma_constraint "
          "renorm renorm_clipping renorm_momentum synchronized")
_register("LayerNormalization", _layer_norm,
          "axis epsilon center scale beta_initializer gamma_initializer beta_regularizer gamma_regularizer "
          "beta_constraint gamma_constraint", "rms_scaling")
_register("Embedding", _embedding,
          "input_dim output_dim embeddings_initializer embeddings_regularizer embeddings_constraint mask_zero "
          "weights lora_rank lora_alpha quantization_config", "input_length")
_register("SimpleRNN", _rnn,
          f"units activation use_bias kernel_initializer recurrent_initializer bias_initializer {_RNN_COMMON} "
          f"{_RNN_FLAGS} seed", "zero_output_for_mask")
_register("LSTM", _rnn,
          "units activation recurrent_activation use_bias kernel_initializer recurrent_initializer bias_initializer "
          f"unit_forget_bias {_RNN_COMMON} seed {_RNN_FLAGS} use_cudnn", "zero_output_for_mask implementation")
_register("GRU", _rnn,
          "units activation recurrent_activation use_bias kernel_initializer recurrent_initializer bias_initializer "
          f"{_RNN_COMMON} seed {_RNN_FLAGS} reset_after use_cudnn", "zero_output_for_mask implementation")
_register("Bidirectional", _bidirectional, "layer merge_mode weights backward_layer")
_register("TimeDistributed", _time_distributed, "layer")

# The lowercase functional forms (`concatenate([a, b], axis=1)`) take the same arguments after the inputs.
_register("Concatenate concatenate", _concatenate, "axis", arity="many")
for _name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
    _register(f"{_name} {_name.lower()}", _elementwise, "", arity="many")
_register("Dot", _dot, "axes normalize", arity="many")
_register("dot", _dot, "axes normalize", arity="many", defaults={"axes": -1})  # only the function has a default
_CLASS_NAMES = {"dot": "Dot", "Input": "InputLayer"}

del _rank, _name, _transpose_order
