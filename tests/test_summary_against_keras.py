"""`kerasfix summary` agrees with Keras: every fixture model is built with TensorFlow and each layer's
type, output shape and parameter count, and the totals, are compared with the static summary.

Collected automatically: `fixtures/models/*.py` and every `*.fixed.py` under `fixtures/` that has a
`.models.toml` (the migrated programs meant to build under Keras 3). The module runs with `__name__ != "__main__"`, so training code
under the main guard does not run.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from kerasfix.summary import summarise_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROGRAMS = sorted(FIXTURES.glob("models/*.py")) + sorted(
    p for p in FIXTURES.rglob("*.fixed.py") if p.with_name(p.name[: -len(".fixed.py")] + ".models.toml").exists()
)

pytestmark = pytest.mark.tensorflow


def _runtime_models(path: Path) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    keras.backend.clear_session()  # layer names count from zero, as in a fresh program
    namespace = {"__name__": "kerasfix_fixture", "__file__": str(path)}
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, namespace)  # noqa: S102 - our own fixture programs, in the test process
    models = {name: value for name, value in namespace.items() if isinstance(value, keras.Model)}
    for name, value in list(namespace.items()):
        if callable(value) and getattr(value, "__module__", None) == "kerasfix_fixture" and not isinstance(value, type):
            models.setdefault(f"{name}()", value)
    return models


def _shape(shape) -> list | None:
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_shape(s) for s in shape]
    return [d if d is None else int(d) for d in shape]


def _layer_facts(model) -> list[tuple]:
    facts = []
    for layer in model.layers:
        output = layer.output
        shape = [_shape(t.shape) for t in output] if isinstance(output, (list, tuple)) else _shape(output.shape)
        facts.append((layer.name, type(layer).__name__, repr(shape), layer.count_params()))
    return facts


def _static_facts(record: dict) -> list[tuple]:
    return [(layer["name"], layer["type"], repr(layer["output_shape"]), layer["params"]) for layer in record["layers"]]


@pytest.mark.parametrize("path", PROGRAMS, ids=[str(p.relative_to(FIXTURES)) for p in PROGRAMS])
def test_summary_matches_keras(path: Path) -> None:
    static = {record["name"]: record for record in summarise_source(path.read_text(encoding="utf-8"))}
    runtime = _runtime_models(path)
    compared = unbuilt = 0
    for name, record in static.items():
        model = runtime.get(name)
        if model is None:
            continue
        if callable(model) and name.endswith("()"):
            import inspect

            if any(p.default is inspect.Parameter.empty for p in inspect.signature(model).parameters.values()):
                continue
            model = model()
        if not model.built:
            unbuilt += 1
            continue  # Keras itself does not know the shapes of a model that was never built
        assert record["complete"], f"{name}: the static summary could not read the whole model"
        assert Counter(_static_facts(record)) == Counter(_layer_facts(model)), name
        assert record["total_params"] == model.count_params(), name
        compared += 1
    assert compared or unbuilt or not static, f"no static model of {path.name} matched a runtime model: {sorted(static)} vs {sorted(runtime)}"


def test_enough_models_are_compared() -> None:
    count = sum(len(summarise_source(path.read_text(encoding="utf-8"))) for path in PROGRAMS)
    assert count >= 25, f"only {count} fixture models"
