"""Static layer shape/parameter inference (`kerasfix.graph.layers`), checked against Keras 3 itself."""

from __future__ import annotations

import copy
import math
import pickle
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from kerasfix.graph.layers import (
    UNKNOWN,
    LayerInfo,
    ShapeError,
    bind_arguments,
    infer_layer,
    keras_class_name,
    known_layer,
)

MERGES = {"Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot"}


def case(type_name: str, config: dict, *shapes: tuple, id: str | None = None):
    return pytest.param(type_name, config, list(shapes), id=id or f"{type_name}-{config}-{list(shapes)}")


def error(kind: str, type_name: str, config: dict, *shapes: tuple, id: str):
    return pytest.param(type_name, config, list(shapes), kind, id=f"{kind}-{id}")


def lstm(units: int, **config) -> tuple[str, dict]:
    return ("LSTM", {"units": units, **config})


CASES = [
    # input
    case("InputLayer", {"shape": (28, 28, 1)}),
    case("InputLayer", {"shape": (None, 8), "batch_size": 16}),
    case("InputLayer", {"batch_shape": (4, 10)}),
    case("Input", {"shape": (5,)}),
    case("Input", {"batch_shape": (None, None, 3)}),
    # core
    case("Dense", {"units": 64}, (None, 784)),
    case("Dense", {"units": 8, "use_bias": False}, (None, 10, 16)),
    case("Dense", {"units": 4}, (None, 2, 3, 5)),
    case("Dense", {"units": 3, "lora_rank": 2}, (None, 10)),
    case("Dense", {"units": 5, "trainable": False}, (None, 7)),
    case("Dense", {"units": 5}, (3, 7)),
    case("Masking", {}, (None, 5, 3)),
    case("Identity", {}, (None, 5)),
    # activations
    case("Activation", {"activation": "relu"}, (None, 5, 6)),
    case("ReLU", {"max_value": 6.0}, (None, 3)),
    case("LeakyReLU", {"negative_slope": 0.2}, (None, 4, 4, 3)),
    case("PReLU", {}, (None, 10, 8)),
    case("PReLU", {"shared_axes": [1, 2]}, (None, 6, 6, 3)),
    case("PReLU", {"shared_axes": 1}, (None, 5, 4)),
    case("ELU", {}, (None, 3)),
    case("Softmax", {"axis": 1}, (None, 4, 5)),
    # regularization
    case("Dropout", {"rate": 0.5}, (None, 10)),
    case("SpatialDropout1D", {"rate": 0.2}, (None, 10, 4)),
    case("SpatialDropout2D", {"rate": 0.2}, (None, 8, 8, 3)),
    case("SpatialDropout3D", {"rate": 0.2, "data_format": "channels_first"}, (None, 2, 4, 4, 4)),
    case("GaussianDropout", {"rate": 0.1}, (None, 5)),
    case("GaussianNoise", {"stddev": 0.1}, (None, 5, 2)),
    case("AlphaDropout", {"rate": 0.1}, (None, 5)),
    case("ActivityRegularization", {"l1": 0.01}, (None, 5)),
    # reshaping
    case("Flatten", {}, (None, 7, 7, 64)),
    case("Flatten", {}, (None, None, 3)),
    case("Flatten", {"data_format": "channels_first"}, (None, 3, 4, 5)),
    case("Flatten", {}, (None, 5)),
    case("Flatten", {}, (None,)),
    case("Reshape", {"target_shape": (3, 4)}, (None, 12)),
    case("Reshape", {"target_shape": (-1, 4)}, (None, 2, 6)),
    case("Reshape", {"target_shape": (2, -1)}, (None, None, 4)),
    case("Permute", {"dims": (2, 1)}, (None, 3, 4)),
    case("Permute", {"dims": (3, 1, 2)}, (None, 2, 3, 4)),
    case("RepeatVector", {"n": 3}, (None, 8)),
    case("UpSampling1D", {}, (None, 5, 3)),
    case("UpSampling1D", {"size": 3}, (None, None, 3)),
    case("UpSampling2D", {"size": (2, 3)}, (None, 4, 5, 3)),
    case("UpSampling2D", {"data_format": "channels_first"}, (None, 3, 4, 5)),
    case("UpSampling3D", {"size": 2}, (None, 2, 3, 4, 1)),
    case("ZeroPadding1D", {"padding": 2}, (None, 5, 3)),
    case("ZeroPadding1D", {"padding": (1, 3)}, (None, 5, 3)),
    case("ZeroPadding2D", {}, (None, 4, 4, 3)),
    case("ZeroPadding2D", {"padding": ((1, 2), (3, 4))}, (None, 4, 4, 3)),
    case("ZeroPadding2D", {"padding": (1, 2), "data_format": "channels_first"}, (None, 3, 4, 4)),
    case("ZeroPadding3D", {"padding": 1}, (None, 2, 3, 4, 1)),
    case("Cropping1D", {}, (None, 6, 2)),
    case("Cropping1D", {"cropping": (2, 0)}, (None, 6, 2)),
    case("Cropping2D", {"cropping": ((1, 1), (2, 2))}, (None, 8, 8, 3)),
    case("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, (None, 3, 8, 8)),
    case("Cropping3D", {}, (None, 4, 4, 4, 2)),
    # convolutions
    case("Conv1D", {"filters": 16, "kernel_size": 3}, (None, 100, 8)),
    case("Conv1D", {"filters": 8, "kernel_size": 5, "strides": 2, "padding": "same"}, (None, 50, 4)),
    case("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (None, 20, 3)),
    case("Conv1D", {"filters": 6, "kernel_size": 3, "groups": 3}, (None, 10, 6)),
    case("Conv2D", {"filters": 32, "kernel_size": 3}, (None, 28, 28, 1)),
    case("Conv2D", {"filters": 16, "kernel_size": (3, 5), "strides": (2, 1), "padding": "same"}, (None, 32, 31, 3)),
    case("Conv2D", {"filters": 8, "kernel_size": 3, "dilation_rate": 2}, (None, 16, 16, 4)),
    case("Conv2D", {"filters": 8, "kernel_size": 3, "data_format": "channels_first", "use_bias": False}, (None, 3, 16, 16)),
    case("Conv2D", {"filters": 8, "kernel_size": 3, "groups": 2}, (None, 10, 10, 4)),
    case("Conv2D", {"filters": 4, "kernel_size": 3}, (None, None, None, 3)),
    case("Conv2D", {"filters": 4, "kernel_size": 3, "lora_rank": 2}, (None, 8, 8, 3)),
    case("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "SAME"}, (None, 9, 9, 3)),
    case("Convolution2D", {"filters": 4, "kernel_size": 2}, (None, 5, 5, 1)),
    case("Conv3D", {"filters": 4, "kernel_size": 3}, (None, 8, 8, 8, 2)),
    case("Conv3D", {"filters": 4, "kernel_size": (1, 2, 3), "strides": 2, "padding": "same"}, (None, 9, 8, 7, 1)),
    case("Conv1DTranspose", {"filters": 8, "kernel_size": 3}, (None, 10, 4)),
    case("Conv1DTranspose", {"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}, (None, 10, 4)),
    case("Conv2DTranspose", {"filters": 16, "kernel_size": 3, "strides": 2}, (None, 7, 7, 8)),
    case("Conv2DTranspose", {"filters": 16, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1}, (None, 7, 7, 8)),
    case("Conv2DTranspose", {"filters": 4, "kernel_size": 2, "strides": 3}, (None, 5, 5, 2)),
    case("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "data_format": "channels_first", "use_bias": False}, (None, 2, 5, 5)),
    case("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (None, 6, 6, 2)),
    case("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": (0, 1)}, (None, 6, None, 2)),
    case("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": (1, 2, 2), "padding": "same"}, (None, 4, 4, 4, 3)),
    case("SeparableConv1D", {"filters": 8, "kernel_size": 3, "depth_multiplier": 2}, (None, 20, 4)),
    case("SeparableConv2D", {"filters": 16, "kernel_size": 3, "padding": "same"}, (None, 16, 16, 8)),
    case("SeparableConv2D", {"filters": 16, "kernel_size": 3, "use_bias": False, "data_format": "channels_first"}, (None, 8, 16, 16)),
    case("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2}, (None, 10, 4)),
    case("DepthwiseConv2D", {"kernel_size": 3}, (None, 8, 8, 3)),
    case("DepthwiseConv2D", {"kernel_size": (3, 3), "strides": 2, "padding": "same", "depth_multiplier": 3}, (None, 9, 9, 2)),
    # pooling
    case("MaxPooling1D", {}, (None, 10, 3)),
    case("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (None, 10, 3)),
    case("MaxPooling2D", {"pool_size": (2, 2)}, (None, 28, 28, 32)),
    case("MaxPooling2D", {"pool_size": 3, "strides": 2}, (None, 15, 15, 4)),
    case("MaxPooling2D", {"data_format": "channels_first"}, (None, 4, 9, 9)),
    case("MaxPool2D", {"pool_size": 2, "padding": "same"}, (None, 5, None, 1)),
    case("MaxPooling3D", {}, (None, 4, 4, 4, 1)),
    case("AveragePooling1D", {"pool_size": 2}, (None, 9, 2)),
    case("AveragePooling2D", {"pool_size": (2, 3), "padding": "same"}, (None, 7, 7, 1)),
    case("AveragePooling3D", {"pool_size": 2, "strides": 1}, (None, 3, 3, 3, 2)),
    case("GlobalMaxPooling1D", {}, (None, 10, 4)),
    case("GlobalAveragePooling1D", {"keepdims": True}, (None, 10, 4)),
    case("GlobalMaxPooling2D", {"data_format": "channels_first"}, (None, 3, 8, 8)),
    case("GlobalAveragePooling2D", {}, (None, 7, 7, 64)),
    case("GlobalAveragePooling2D", {"keepdims": True, "data_format": "channels_first"}, (None, 3, 8, 8)),
    case("GlobalMaxPooling3D", {"keepdims": True}, (None, 2, 2, 2, 5)),
    case("GlobalAveragePooling3D", {}, (None, 2, 2, 2, 5)),
    # normalization
    case("BatchNormalization", {}, (None, 8, 8, 16)),
    case("BatchNormalization", {"axis": 1}, (None, 16, 8, 8)),
    case("BatchNormalization", {"center": False}, (None, 10)),
    case("BatchNormalization", {"scale": False, "trainable": False}, (None, 10)),
    case("BatchNormalization", {"renorm": True}, (None, 10)),
    case("LayerNormalization", {}, (None, 10, 8)),
    case("LayerNormalization", {"axis": [1, 2]}, (None, 4, 5, 6)),
    case("LayerNormalization", {"center": False}, (None, 7)),
    case("LayerNormalization", {"rms_scaling": True}, (None, 7)),
    # embedding
    case("Embedding", {"input_dim": 1000, "output_dim": 64}, (None, 20)),
    case("Embedding", {"input_dim": 50, "output_dim": 8}, (None, None)),
    case("Embedding", {"input_dim": 10, "output_dim": 4, "mask_zero": True}, (None, 3, 5)),
    case("Embedding", {"input_dim": 10, "output_dim": 4, "lora_rank": 2}, (None, 3)),
    # recurrent
    case("SimpleRNN", {"units": 16}, (None, 10, 8)),
    case("SimpleRNN", {"units": 16, "return_sequences": True, "use_bias": False}, (None, None, 8)),
    case("LSTM", {"units": 32}, (None, 10, 8)),
    case("LSTM", {"units": 32, "return_sequences": True, "return_state": True}, (None, 10, 8)),
    case("GRU", {"units": 16}, (None, 10, 8)),
    case("GRU", {"units": 16, "reset_after": False, "return_state": True}, (None, 10, 8)),
    case("GRU", {"units": 16, "use_bias": False, "return_sequences": True}, (None, 5, 3)),
    case("Bidirectional", {"layer": lstm(16)}, (None, 10, 8)),
    case("Bidirectional", {"layer": lstm(16, return_sequences=True), "merge_mode": "sum"}, (None, 10, 8)),
    case("Bidirectional", {"layer": ("GRU", {"units": 8}), "merge_mode": None}, (None, 10, 8)),
    case("Bidirectional", {"layer": lstm(8, return_state=True)}, (None, 10, 4)),
    case("Bidirectional", {"layer": ("SimpleRNN", {"units": 4, "return_state": True}), "merge_mode": None}, (None, 6, 3)),
    case("Bidirectional", {"layer": ("GRU", {"units": 8}), "merge_mode": "ave",
                           "backward_layer": ("GRU", {"units": 8, "go_backwards": True})}, (None, 5, 3)),
    case("Bidirectional", {"layer": lstm(4, trainable=False), "merge_mode": "mul"}, (None, 5, 3)),
    case("TimeDistributed", {"layer": ("Dense", {"units": 8})}, (None, 10, 16)),
    case("TimeDistributed", {"layer": ("Conv2D", {"filters": 4, "kernel_size": 3})}, (None, 5, 8, 8, 3)),
    case("TimeDistributed", {"layer": ("MaxPooling2D", {})}, (None, 5, 8, 8, 3)),
    case("TimeDistributed", {"layer": ("Flatten", {})}, (None, 5, 4, 4, 2)),
    # merging
    case("Concatenate", {}, (None, 4), (None, 6)),
    case("Concatenate", {"axis": 1}, (None, 2, 3), (None, 5, 3)),
    case("Concatenate", {}, (None, 8, 8, 3), (None, 8, 8, 5), (None, 8, 8, 1)),
    case("Concatenate", {}, (None, None, 3), (None, 5, 4)),
    case("concatenate", {"axis": 1}, (None, 3), (None, 4)),
    case("Add", {}, (None, 8), (None, 8)),
    case("Add", {}, (None, 4, 4, 8), (None, 1, 1, 8)),
    case("Add", {}, (None, 3, 4), (None, 4)),
    case("add", {}, (None, 2, 3), (None, 2, 3)),
    case("Subtract", {}, (None, 5), (None, 5)),
    case("Multiply", {}, (None, 5), (None, 1)),
    case("Average", {}, (None, 3), (None, 3), (None, 3)),
    case("Maximum", {}, (None, None, 3), (None, 4, 3)),
    case("Minimum", {}, (None, 3), (None, 3)),
    case("Dot", {"axes": 1}, (None, 5), (None, 5)),
    case("Dot", {"axes": (2, 2)}, (None, 3, 4), (None, 5, 4)),
    case("Dot", {"axes": -1, "normalize": True}, (None, 3, 4), (None, 6, 4)),
    case("Dot", {"axes": (1, 1)}, (None, 3, 4), (None, 3, 6)),
]

# Shapes Keras rejects when the model is built, with the ShapeError kind we report.
ERRORS = [
    error("negative_dim", "Conv2D", {"filters": 8, "kernel_size": 5}, (None, 4, 4, 1), id="conv2d"),
    error("negative_dim", "Conv1D", {"filters": 4, "kernel_size": 3, "dilation_rate": 3}, (None, 6, 1), id="dilated"),
    error("negative_dim", "MaxPooling2D", {"pool_size": 3}, (None, 2, 2, 1), id="maxpool"),
    error("negative_dim", "AveragePooling1D", {"pool_size": 5}, (None, 4, 2), id="avgpool"),
    error("negative_dim", "SeparableConv2D", {"filters": 4, "kernel_size": 5}, (None, 3, 8, 1), id="separable"),
    error("negative_dim", "DepthwiseConv2D", {"kernel_size": 5}, (None, 3, 3, 1), id="depthwise"),
    error("negative_dim", "Cropping1D", {"cropping": (3, 3)}, (None, 6, 1), id="crop1d"),
    error("negative_dim", "Cropping2D", {"cropping": 2}, (None, 4, 8, 1), id="crop2d"),
    error("negative_dim", "Cropping3D", {"cropping": 2}, (None, 4, 5, 5, 1), id="crop3d"),
    error("rank", "Conv2D", {"filters": 8, "kernel_size": 3}, (None, 784), id="conv2d"),
    error("rank", "Conv1D", {"filters": 8, "kernel_size": 3}, (None, 5, 5, 3), id="conv1d-too-many"),
    error("rank", "Conv2DTranspose", {"filters": 8, "kernel_size": 3}, (None, 4, 4), id="deconv"),
    error("rank", "LSTM", {"units": 4}, (None, 10), id="lstm"),
    error("rank", "GRU", {"units": 4}, (None, 10, 4, 4), id="gru"),
    error("rank", "Bidirectional", {"layer": lstm(4)}, (None, 8), id="bidirectional"),
    error("rank", "TimeDistributed", {"layer": ("Dense", {"units": 3})}, (None, 4), id="time-distributed"),
    error("rank", "TimeDistributed", {"layer": ("Conv2D", {"filters": 4, "kernel_size": 3})}, (None, 5, 8, 3), id="td-inner"),
    error("rank", "RepeatVector", {"n": 3}, (None, 3, 4), id="repeat"),
    error("rank", "Dense", {"units": 4}, (None,), id="dense"),
    error("rank", "GlobalAveragePooling2D", {}, (None, 10, 3), id="global-pool"),
    error("rank", "MaxPooling1D", {}, (None, 10), id="pool"),
    error("rank", "Permute", {"dims": (2, 1)}, (None, 2, 3, 4), id="permute"),
    error("rank", "UpSampling2D", {}, (None, 4, 4), id="upsampling"),
    error("rank", "ZeroPadding2D", {}, (None, 4, 4), id="zero-padding"),
    error("rank", "SpatialDropout2D", {"rate": 0.1}, (None, 4, 4), id="spatial-dropout"),
    error("rank", "BatchNormalization", {"axis": 3}, (None, 5), id="batchnorm-axis"),
    error("merge", "Concatenate", {}, (None, 24, 24, 32), (None, 22, 22, 16), id="concat"),
    error("merge", "Concatenate", {}, (None, 3), (None, 3, 4), id="concat-rank"),
    error("merge", "Concatenate", {"axis": 1}, (2, 3), (4, 3), id="concat-batch"),
    error("merge", "Add", {}, (None, 8), (None, 16), id="add"),
    error("merge", "Add", {}, (2, 3), (4, 3), id="add-batch"),
    error("merge", "Multiply", {}, (None, 4, 8), (None, 4, 1), (None, 3, 8), id="multiply-third"),
    error("merge", "Subtract", {}, (None, 3), (None, 3), (None, 3), id="subtract-three"),
    error("merge", "Dot", {"axes": 1}, (None, 3), (None, 4), id="dot"),
]

# Arguments Keras refuses for reasons outside ShapeError's kinds: we must say "unknown", never a number.
REFUSED = [
    case("Reshape", {"target_shape": (5,)}, (None, 4), id="reshape-size"),
    case("Conv2D", {"filters": 8, "kernel_size": 3, "groups": 3}, (None, 8, 8, 4), id="groups-channels"),
    case("Conv2D", {"filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, (None, 9, 9, 1), id="strided-dilation"),
    case("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}, (None, 4, 4, 1), id="output-padding"),
    case("Dense", {"units": 4, "output_dim": 3}, (None, 3), id="unknown-kwarg"),
    case("MaxPooling2D", {"padding": "SAME"}, (None, 4, 4, 1), id="pool-uppercase-padding"),
    case("Bidirectional", {"layer": ("Dense", {"units": 3})}, (None, 4, 3), id="bidirectional-dense"),
]


# --- comparison with Keras -----------------------------------------------------------------------------


def keras_layer(keras, type_name: str, config: dict):
    config = {k: keras_layer(keras, *v) if k in ("layer", "backward_layer") else v for k, v in config.items()}
    return getattr(keras.layers, type_name)(**config)


def keras_result(keras, type_name: str, config: dict, shapes: list) -> LayerInfo:
    """What Keras itself computes: output shape(s) of a symbolic call, and the built layer's weights."""
    if type_name == "Input":
        return LayerInfo(tuple(keras.Input(**config).shape), 0, 0, 0)
    if type_name == "InputLayer":
        layer = keras.layers.InputLayer(**config)
        return LayerInfo(tuple(layer.output.shape), 0, 0, 0)
    inputs = [keras.Input(batch_shape=shape) for shape in shapes]
    if type_name[0].islower():  # the functional form builds the layer and applies it at once
        output = getattr(keras.layers, type_name)(inputs, **config)
        layer = output._keras_history.operation
    else:
        layer = keras_layer(keras, type_name, config)
        output = layer(inputs if type_name in MERGES else inputs[0])
    shape = [tuple(t.shape) for t in output] if isinstance(output, (list, tuple)) else tuple(output.shape)
    trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
    return LayerInfo(shape, layer.count_params(), trainable, frozen)


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.tensorflow
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras warns about deprecated arguments we test on purpose
@pytest.mark.parametrize("type_name, config, shapes", CASES)
def test_matches_keras(keras, type_name: str, config: dict, shapes: list) -> None:
    expected = keras_result(keras, type_name, copy.deepcopy(config), shapes)
    assert infer_layer(type_name, config, shapes) == expected


@pytest.mark.tensorflow
@pytest.mark.parametrize("type_name, config, shapes, kind", ERRORS)
def test_shape_errors_are_real(keras, type_name: str, config: dict, shapes: list, kind: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - Keras raises ValueError or its own input-spec errors
        keras_result(keras, type_name, copy.deepcopy(config), shapes)
    with pytest.raises(ShapeError) as raised:
        infer_layer(type_name, config, shapes)
    assert raised.value.kind == kind


@pytest.mark.tensorflow
@pytest.mark.parametrize("type_name, config, shapes", REFUSED)
def test_refused_arguments_are_unknown(keras, type_name: str, config: dict, shapes: list) -> None:
    with pytest.raises(Exception):  # noqa: B017
        keras_result(keras, type_name, copy.deepcopy(config), shapes)
    assert infer_layer(type_name, config, shapes) == LayerInfo(None, None, None, None)


@pytest.mark.tensorflow
@pytest.mark.parametrize(
    "type_name",
    sorted({c.values[0] for c in CASES} - {"Input", "concatenate", "add"}),
)
def test_positional_parameters_match_keras(keras, type_name: str) -> None:
    import inspect

    signature = inspect.signature(getattr(keras.layers, type_name).__init__)
    names = [p.name for p in signature.parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD][1:]
    assert list(bind_arguments(type_name, list(range(len(names))), {})) == names
    with pytest.raises(TypeError):
        bind_arguments(type_name, list(range(len(names) + 1)), {})


window_configs = st.fixed_dictionaries(
    {
        "kernel_size": st.integers(1, 5),
        "strides": st.integers(1, 3),
        "dilation_rate": st.integers(1, 2),
        "padding": st.sampled_from(["valid", "same"]),
        "data_format": st.sampled_from(["channels_last", "channels_first"]),
    }
)


@pytest.mark.tensorflow
@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "MaxPooling2D", "AveragePooling1D", "DepthwiseConv2D"]),
    window=window_configs,
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=2),
    output_padding=st.sampled_from([None, 0, 1]),
)
def test_windows_match_keras_anywhere(keras, kind: str, window: dict, sizes: list[int], output_padding) -> None:
    """Random windows and inputs: where Keras builds, we agree; where it refuses, we raise or say unknown."""
    rank = 1 if "1D" in kind else 2
    config = dict(window)
    if "Pooling" in kind:
        config = {"pool_size": config["kernel_size"], "strides": config["strides"], "padding": config["padding"],
                  "data_format": config["data_format"]}
    elif kind != "DepthwiseConv2D":
        config["filters"] = 4
    if "Transpose" in kind and output_padding is not None:
        config["output_padding"] = output_padding
    spatial = tuple(sizes[:rank])
    shape = (None, *spatial, 3) if config["data_format"] == "channels_last" else (None, 3, *spatial)
    try:
        expected = keras_result(keras, kind, dict(config), [shape])
    except Exception:  # noqa: BLE001 - Keras refuses: we must not produce numbers
        try:
            info = infer_layer(kind, config, [shape])
        except ShapeError:
            return
        assert info == LayerInfo(None, None, None, None)
        return
    assert infer_layer(kind, config, [shape]) == expected


# --- pure tests: no TensorFlow -------------------------------------------------------------------------


def test_bind_arguments_names_positional_arguments() -> None:
    assert bind_arguments("Dense", [64], {}) == {"units": 64}
    assert bind_arguments("Conv2D", [32, 5], {"padding": "same"}) == {"filters": 32, "kernel_size": 5, "padding": "same"}
    assert bind_arguments("MaxPooling2D", [(2, 2)], {}) == {"pool_size": (2, 2)}
    assert bind_arguments("Dropout", [0.5], {}) == {"rate": 0.5}
    assert bind_arguments("Reshape", [(3, 4)], {}) == {"target_shape": (3, 4)}
    assert bind_arguments("Embedding", [1000, 64], {}) == {"input_dim": 1000, "output_dim": 64}
    assert bind_arguments("LSTM", [32], {"return_sequences": True}) == {"units": 32, "return_sequences": True}
    assert bind_arguments("Bidirectional", [lstm(8)], {}) == {"layer": lstm(8)}
    assert bind_arguments("TimeDistributed", [("Dense", {"units": 3})], {}) == {"layer": ("Dense", {"units": 3})}
    assert bind_arguments("Concatenate", [], {"axis": 1}) == {"axis": 1}
    assert bind_arguments("concatenate", [1], {}) == {"axis": 1}
    assert bind_arguments("Conv3DTranspose", [4, 3, 1, "same", None, 1], {}) == {
        "filters": 4, "kernel_size": 3, "strides": 1, "padding": "same", "data_format": None, "output_padding": 1,
    }
    assert bind_arguments("Convolution2D", [8, 3], {}) == {"filters": 8, "kernel_size": 3}
    assert bind_arguments("MyLayer", [1, 2], {"units": 3}) == {"units": 3}


def test_bind_arguments_rejects_what_python_rejects() -> None:
    with pytest.raises(TypeError):
        bind_arguments("Dense", [64], {"units": 32})
    with pytest.raises(TypeError):
        bind_arguments("Dropout", [0.5, None, 1, 2], {})


def test_known_layer() -> None:
    for name in ("Dense", "Conv2D", "Convolution2D", "MaxPool2D", "GlobalAvgPool2D", "LSTM", "Bidirectional", "concatenate", "InputLayer", "Input"):
        assert known_layer(name), name
    for name in ("Lambda", "MyCustomLayer", "ConvLSTM2D", "MultiHeadAttention"):
        assert not known_layer(name), name


def test_keras_class_name() -> None:
    assert keras_class_name("MaxPool2D") == "MaxPooling2D"
    assert keras_class_name("Convolution1DTranspose") == "Conv1DTranspose"
    assert keras_class_name("GlobalAvgPool1D") == "GlobalAveragePooling1D"
    assert keras_class_name("concatenate") == "Concatenate"
    assert keras_class_name("dot") == "Dot"
    assert keras_class_name("Input") == "InputLayer"
    assert keras_class_name("Dense") == "Dense"
    assert keras_class_name("MyLayer") == "MyLayer"


def test_unknown_sentinel() -> None:
    assert repr(UNKNOWN) == "?"
    assert copy.deepcopy(UNKNOWN) is UNKNOWN
    assert pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN


NOTHING = LayerInfo(None, None, None, None)


@pytest.mark.parametrize(
    "type_name, config, shapes, expected",
    [
        # an unknown value makes only what depends on it unknown
        ("Dense", {"units": UNKNOWN}, [(None, 8)], LayerInfo((None, None), None, None, 0)),
        ("Dense", {"units": 4}, [(None, None)], LayerInfo((None, 4), None, None, 0)),
        ("Dense", {"units": 4, "use_bias": UNKNOWN}, [(None, 8)], LayerInfo((None, 4), None, None, 0)),
        ("Dense", {"units": 4, "trainable": UNKNOWN}, [(None, 8)], LayerInfo((None, 4), 36, None, None)),
        ("Conv2D", {"filters": UNKNOWN, "kernel_size": 3}, [(None, 8, 8, 3)], LayerInfo((None, 6, 6, None), None, None, 0)),
        ("Conv2D", {"filters": 4, "kernel_size": UNKNOWN, "padding": "same"}, [(None, 8, 8, 3)], LayerInfo((None, 8, 8, 4), None, None, 0)),
        ("Conv2D", {"filters": 4, "kernel_size": UNKNOWN}, [(None, 8, 8, 3)], LayerInfo((None, None, None, 4), None, None, 0)),
        ("Conv2D", {"filters": 4, "kernel_size": (3, UNKNOWN)}, [(None, 8, 8, 3)], LayerInfo((None, 6, None, 4), None, None, 0)),
        ("Conv2D", {"filters": 4, "kernel_size": 3, "padding": UNKNOWN}, [(None, 8, 8, 3)], LayerInfo((None, None, None, 4), 112, 112, 0)),
        ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": UNKNOWN}, [(None, 8, 8, 3)], LayerInfo((None, None, None, None), None, None, 0)),
        ("Conv2D", {"filters": 4, "kernel_size": 3, "lora_rank": UNKNOWN}, [(None, 8, 8, 3)], LayerInfo((None, 6, 6, 4), None, None, None)),
        ("MaxPooling2D", {"pool_size": UNKNOWN}, [(None, 8, 8, 3)], LayerInfo((None, None, None, 3), 0, 0, 0)),
        ("BatchNormalization", {"axis": UNKNOWN}, [(None, 8, 4)], LayerInfo((None, 8, 4), None, None, None)),
        ("BatchNormalization", {"center": UNKNOWN}, [(None, 4)], LayerInfo((None, 4), None, None, 8)),
        ("Reshape", {"target_shape": (UNKNOWN, 4)}, [(None, 8)], LayerInfo((None, None, 4), 0, 0, 0)),
        ("Reshape", {"target_shape": UNKNOWN}, [(None, 8)], NOTHING),
        ("LSTM", {"units": 8, "return_sequences": UNKNOWN}, [(None, 5, 4)], LayerInfo(None, 416, 416, 0)),
        ("GRU", {"units": 8, "reset_after": UNKNOWN}, [(None, 5, 4)], LayerInfo((None, 8), None, None, 0)),
        ("Bidirectional", {"layer": lstm(8), "merge_mode": UNKNOWN}, [(None, 5, 4)], LayerInfo(None, 832, 832, 0)),
        ("Bidirectional", {"layer": UNKNOWN}, [(None, 5, 4)], NOTHING),
        ("Embedding", {"input_dim": 100, "output_dim": 8}, [None], LayerInfo(None, 800, 800, 0)),
        ("TimeDistributed", {"layer": ("Dense", {"units": UNKNOWN})}, [(None, 5, 4)], LayerInfo((None, 5, None), None, None, 0)),
        ("InputLayer", {"shape": (UNKNOWN, 3)}, [], LayerInfo((None, None, 3), 0, 0, 0)),
        ("InputLayer", {"shape": UNKNOWN}, [], LayerInfo(None, 0, 0, 0)),
        ("Input", {"shape": (3,), "batch_size": UNKNOWN}, [], LayerInfo((None, 3), 0, 0, 0)),
        # an unknown input shape
        ("Dense", {"units": 4}, [None], NOTHING),
        ("Dropout", {"rate": 0.5}, [None], LayerInfo(None, 0, 0, 0)),
        ("Concatenate", {}, [(None, 3), None], NOTHING),
        ("Add", {}, [(None, 3), None, (None, 4)], NOTHING),
        # None dims are never reported as clashes
        ("Conv2D", {"filters": 4, "kernel_size": 5}, [(None, None, 8, 1)], LayerInfo((None, None, 4, 4), 104, 104, 0)),
        ("Concatenate", {}, [(None, None, 3), (None, 5, 4)], LayerInfo((None, None, 7), 0, 0, 0)),
        ("Add", {}, [(None, None, 3), (None, 5, 1)], LayerInfo((None, None, 3), 0, 0, 0)),
        ("Dot", {"axes": 1}, [(None, None), (None, 4)], LayerInfo((None, 1), 0, 0, 0)),
        # arguments the source does not give, or Keras 3 does not accept
        ("Dense", {}, [(None, 4)], NOTHING),
        ("Dense", {"__unbound__": True}, [(None, 4)], NOTHING),
        ("Conv2D", {"filters": 4, "kernel_size": 3, "border_mode": "same"}, [(None, 8, 8, 1)], NOTHING),
        ("Dense", {"units": 0}, [(None, 4)], NOTHING),
        ("Dense", {"units": 2}, [(None, 4), (None, 4)], NOTHING),
        ("Lambda", {"function": UNKNOWN}, [(None, 4)], LayerInfo(None, 0, 0, 0)),
        ("MyCustomLayer", {"units": 3}, [(None, 4)], NOTHING),
        ("Dot", {}, [(None, 3), (None, 3)], NOTHING),
        ("dot", {}, [(None, 3), (None, 3)], LayerInfo((None, 1), 0, 0, 0)),
    ],
)
def test_unknown_values_propagate(type_name: str, config: dict, shapes: list, expected: LayerInfo) -> None:
    assert infer_layer(type_name, config, shapes) == expected


@pytest.mark.parametrize(
    "type_name, config, shapes, kind, words",
    [
        ("Concatenate", {}, [(None, 24, 24, 32), (None, 22, 22, 16)], "merge",
         "Concatenate: inputs (None, 24, 24, 32) and (None, 22, 22, 16) differ on axis 1 and 2"),
        ("Add", {}, [(None, 8, 8, 32), (None, 8, 8, 16)], "merge", "Add: inputs (None, 8, 8, 32) and (None, 8, 8, 16) differ on axis 3"),
        ("Multiply", {}, [(None, 4, 8), (None, 4, 1), (None, 3, 8)], "merge", "(None, 4, 8) and (None, 3, 8) differ on axis 1"),
        ("Add", {}, [(2, 3), (4, 3)], "merge", "the batch size"),
        ("Dot", {"axes": 1}, [(None, 3), (None, 4)], "merge", "3 vs 4"),
        ("Subtract", {}, [(None, 3)] * 3, "merge", "exactly 2 inputs"),
        ("Conv2D", {"filters": 8, "kernel_size": 5}, [(None, 4, 4, 1)], "negative_dim", "window 5 is larger than the input's 4 on axis 1"),
        ("Conv1D", {"filters": 8, "kernel_size": 3, "dilation_rate": 3}, [(None, 6, 1)], "negative_dim", "dilated to 7"),
        ("MaxPooling2D", {"data_format": "channels_first"}, [(None, 3, 8, 1)], "negative_dim", "on axis 3"),
        ("Cropping1D", {"cropping": 3}, [(None, 6, 1)], "negative_dim", "Cropping1D"),
        ("Conv2D", {"filters": 8, "kernel_size": 3}, [(None, 784)], "rank", "Conv2D: expects an input of rank 4"),
        ("LSTM", {"units": 8}, [(None, 10)], "rank", "(None, 10) of rank 2"),
        ("Dense", {"units": 8}, [(None,)], "rank", "rank 2 or more"),
        ("TimeDistributed", {"layer": ("Conv2D", {"filters": 4, "kernel_size": 3})}, [(None, 5, 8, 3)], "rank",
         "TimeDistributed(Conv2D): expects an input of rank 4"),
        ("Concatenate", {"axis": 2}, [(None, 3), (None, 3)], "rank", "axis 2 is out of range"),
    ],
)
def test_shape_errors(type_name: str, config: dict, shapes: list, kind: str, words: str) -> None:
    with pytest.raises(ShapeError) as raised:
        infer_layer(type_name, config, shapes)
    assert raised.value.kind == kind
    assert words in str(raised.value)


def _at_most(less, more) -> bool:
    """`less` states nothing that `more` contradicts: each of its numbers is None or equal."""
    if less is None:
        return True
    if isinstance(less, list) or isinstance(more, list):
        return isinstance(less, list) and isinstance(more, list) and len(less) == len(more) and all(map(_at_most, less, more))
    if isinstance(less, tuple):
        return isinstance(more, tuple) and len(less) == len(more) and all(x is None or x == y for x, y in zip(less, more))
    return less == more


def _blurred(config: dict, shapes: list):
    """Every variant of a case with one argument, one part of an argument, or one input dim made unknown."""
    for key, value in config.items():
        yield {**config, key: UNKNOWN}, shapes
        if isinstance(value, (tuple, list)) and value and not isinstance(value[0], str):
            for index in range(len(value)):
                yield {**config, key: type(value)(UNKNOWN if i == index else v for i, v in enumerate(value))}, shapes
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            for inner_key in value[1]:
                yield {**config, key: (value[0], {**value[1], inner_key: UNKNOWN})}, shapes
    for position, shape in enumerate(shapes):
        yield config, [None if i == position else s for i, s in enumerate(shapes)]
        for axis in range(len(shape)):
            blurred = tuple(None if i == axis else d for i, d in enumerate(shape))
            yield config, [blurred if i == position else s for i, s in enumerate(shapes)]


@pytest.mark.parametrize("type_name, config, shapes", CASES)
def test_unknowns_never_change_a_known_number(type_name: str, config: dict, shapes: list) -> None:
    full = infer_layer(type_name, config, shapes)
    for blurred_config, blurred_shapes in _blurred(config, shapes):
        partial = infer_layer(type_name, blurred_config, blurred_shapes)
        for field in ("output_shape", "params", "trainable_params", "non_trainable_params"):
            assert _at_most(getattr(partial, field), getattr(full, field)), (field, blurred_config, blurred_shapes, partial, full)


def test_flatten_takes_any_rank() -> None:
    for shape in [(None, 3), (None, 2, 3), (None, 2, 3, 4, 5, 6)]:
        assert infer_layer("Flatten", {}, [shape]).output_shape == (None, math.prod(shape[1:]))


dims = st.one_of(st.none(), st.integers(1, 40))
values = st.one_of(st.just(UNKNOWN), st.none(), st.integers(-2, 6), st.sampled_from(["valid", "same", "causal", "x"]),
                   st.tuples(st.integers(0, 4), st.integers(0, 4)), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    type_name=st.sampled_from(["Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv1D", "MaxPooling2D",
                               "AveragePooling1D", "Cropping2D", "ZeroPadding2D", "UpSampling2D", "Dense", "LSTM", "GRU",
                               "BatchNormalization", "Reshape", "Concatenate", "Add", "Dot", "Flatten", "Embedding"]),
    config=st.dictionaries(st.sampled_from(["filters", "kernel_size", "strides", "padding", "dilation_rate", "pool_size",
                                            "cropping", "size", "units", "axis", "axes", "target_shape", "use_bias",
                                            "input_dim", "output_dim", "return_sequences"]), values, max_size=5),
    shapes=st.lists(st.one_of(st.none(), st.lists(dims, min_size=1, max_size=5).map(lambda d: (None, *d))), min_size=1, max_size=3),
)
def test_never_crashes_and_never_negative(type_name: str, config: dict, shapes: list) -> None:
    try:
        info = infer_layer(type_name, config, shapes)
    except ShapeError as error:
        assert error.kind in {"merge", "negative_dim", "rank"}
        return
    outputs = info.output_shape if isinstance(info.output_shape, list) else [info.output_shape]
    for shape in outputs:
        assert shape is None or all(d is None or (isinstance(d, int) and d > 0) for d in shape[1:])
    for count in (info.params, info.trainable_params, info.non_trainable_params):
        assert count is None or count >= 0


def test_import_does_not_load_tensorflow_or_keras() -> None:
    code = "import sys, kerasfix.graph.layers; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
