"""Writes `rules/keras_api.json`: the public Keras 3 API (names and signatures) of the installed Keras.

Run `python -m kerasfix.apisnapshot` with Keras installed. The linter reads the JSON and never imports
Keras; a test regenerates the snapshot and fails when it has drifted from the installed Keras.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path

MODULES = [
    "keras", "keras.layers", "keras.models", "keras.optimizers", "keras.optimizers.schedules",
    "keras.losses", "keras.metrics", "keras.callbacks", "keras.utils", "keras.activations",
    "keras.initializers", "keras.regularizers", "keras.constraints", "keras.backend", "keras.datasets",
    "keras.preprocessing", "keras.preprocessing.image", "keras.preprocessing.sequence", "keras.saving",
    "keras.applications", "keras.mixed_precision", "keras.random", "keras.ops", "keras.wrappers", "keras.config",
]
# Methods of keras.Model whose keywords rules check.
MODEL_METHODS = ["fit", "evaluate", "predict", "compile", "save", "train_on_batch", "test_on_batch", "predict_on_batch", "summary"]
_LITERALS = (int, float, str, bool, type(None))


def _literal(value):
    if isinstance(value, _LITERALS):
        return value
    if isinstance(value, tuple) and all(isinstance(v, _LITERALS) for v in value):
        return list(value)
    return "<object>"


def _parameters(function) -> dict | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    params = []
    var_keyword = var_positional = False
    for parameter in signature.parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind is parameter.VAR_KEYWORD:
            var_keyword = True
            continue
        if parameter.kind is parameter.VAR_POSITIONAL:
            var_positional = True
            continue
        entry = {"name": parameter.name}
        if parameter.kind is parameter.KEYWORD_ONLY:
            entry["keyword_only"] = True
        if parameter.default is parameter.empty:
            entry["required"] = True
        else:
            entry["default"] = _literal(parameter.default)
        params.append(entry)
    return {"params": params, "var_keyword": var_keyword, "var_positional": var_positional}


def build() -> dict:
    import importlib

    import keras

    layer_base = _parameters(keras.layers.Layer.__init__)
    # Keywords the base Layer takes out of **kwargs itself (it rejects any other).
    base_keywords = sorted({p["name"] for p in layer_base["params"]} | {"input_shape", "input_dim"})
    modules: dict[str, list[str]] = {}
    symbols: dict[str, dict] = {}
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        public = sorted(n for n in dir(module) if not n.startswith("_"))
        modules[name] = public
        for attribute in public:
            value = getattr(module, attribute)
            if inspect.ismodule(value):
                continue
            entry: dict = {"kind": "class" if inspect.isclass(value) else "function" if callable(value) else "value"}
            if inspect.isclass(value):
                signature = _parameters(value.__init__)
                if isinstance(value, type) and issubclass(value, keras.layers.Layer):
                    entry["layer"] = True
            elif callable(value):
                signature = _parameters(value)
            else:
                signature = None
            if signature is not None:
                entry.update(signature)
            symbols[f"{name}.{attribute}"] = entry
    methods = {}
    for method in MODEL_METHODS:
        signature = _parameters(getattr(keras.Model, method))
        if signature is not None:
            methods[method] = signature
    return {
        "keras_version": keras.__version__,
        "layer_base_keywords": base_keywords,
        "modules": modules,
        "symbols": symbols,
        "model_methods": methods,
    }


def render(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=1, sort_keys=True) + "\n"


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "rules" / "keras_api.json"
    target.write_text(render(build()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
