"""`kerasfix summary` reproduces the figures the Keras tutorials print, worked out by hand:
Dense(8) on 2 features then Dense(2) is 24 + 18 = 42 parameters; two Conv2D(32, 5) on 28x28x1, a 2x2
pool and Flatten go 24x24x32 -> 20x20x32 -> 10x10x32 -> 3200 -> 2; the two-branch model concatenates
4608 and 1936 features to 6544 -> 10 -> 1. Through the CLI, as users run it."""

from __future__ import annotations

import json

from conftest import ROOT, cli


def _models(path: str) -> dict[str, dict]:
    result = cli("summary", "--format", "json", str(ROOT / "fixtures" / "models" / path))
    assert result.returncode == 0, result.stderr
    return {model["name"]: model for model in json.loads(result.stdout)["models"]}


def _shapes(model: dict) -> list:
    return [layer["output_shape"] for layer in model["layers"]]


def test_the_42_parameter_dense_model() -> None:
    model = _models("tutorial_dense_42.py")["model"]
    assert [layer["params"] for layer in model["layers"]] == [2 * 8 + 8, 8 * 2 + 2]
    assert model["total_params"] == 42


def test_the_two_convolution_cnn() -> None:
    (model,) = _models("mnist_two_conv.py").values()
    assert _shapes(model)[-5:] == [
        [None, 24, 24, 32], [None, 20, 20, 32], [None, 10, 10, 32], [None, 3200], [None, 2],
    ]


def test_the_two_branch_model() -> None:
    model = _models("two_branch_cnn.py")["model"]
    shapes = _shapes(model)
    for expected in ([None, 24, 24, 32], [None, 12, 12, 32], [None, 4608], [None, 22, 22, 16], [None, 11, 11, 16], [None, 1936], [None, 6544], [None, 10], [None, 1]):
        assert expected in shapes, expected
    assert shapes[-3:] == [[None, 6544], [None, 10], [None, 1]]
