"""Find the calls to Keras backend functions (`K.sum(x)`, `keras.backend.int_shape(x)`, `tf.keras.backend.eval(v)`)
in Python source with `ast`, and tell which of the functions Keras 3's `keras.backend` still has."""

from __future__ import annotations

import ast
import importlib.util
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

# Modules that are "the Keras backend" under one spelling or another.
BACKEND_MODULES = frozenset({
    "keras.backend",
    "tensorflow.keras.backend",
    "tensorflow.python.keras.backend",
    "tensorflow.compat.v1.keras.backend",
    "tensorflow.compat.v2.keras.backend",
    "tf_keras.backend",
})

# What Keras 3.15's `keras.backend` exports, used when Keras is not installed to read it from.
_KERAS3_BACKEND_FALLBACK = frozenset({
    "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format", "is_float_dtype", "is_int_dtype",
    "is_keras_tensor", "result_type", "set_epsilon", "set_floatx", "set_image_data_format", "standardize_dtype",
})


@dataclass(frozen=True)
class BackendCall:
    line: int
    column: int
    function: str  # the name after the backend module: "sum", "int_shape", "tensorflow_backend._get_available_gpus"
    callee: str  # as written: "K.sum"


def keras3_backend_names() -> frozenset[str]:
    """The public names of the installed Keras 3 `keras.backend`, read from its source without importing it."""
    spec = importlib.util.find_spec("keras")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        init = Path(location) / "backend" / "__init__.py"
        if init.is_file():
            tree = ast.parse(init.read_text(encoding="utf-8"))
            names = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
            names |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
            public = frozenset(name for name in names if not name.startswith("_") and name != "*")
            if public:
                return public
    return _KERAS3_BACKEND_FALLBACK


def report_only_functions() -> frozenset[str]:
    """The Keras 2 backend functions kerasfix's catalogue gives no Keras 3 replacement (`none` in
    rules/backend_ops.toml): a call of one of them left after migrate is reported with guidance by design."""
    with open(Path(__file__).resolve().parent.parent / "rules" / "backend_ops.toml", "rb") as handle:
        rows = tomllib.load(handle)["function"]
    return frozenset(name for name, row in rows.items() if "none" in row)


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _bindings(tree: ast.Module) -> dict[str, str]:
    """Name -> the dotted module path or object it stands for, from every import (and `K = keras.backend`)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    bound[head] = head
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    # `K = keras.backend`, `backend = tf.keras.backend`: aliases of a backend module, possibly chained
    for _ in range(3):
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                resolved = _resolve(node.value, bound)
                if resolved in BACKEND_MODULES and bound.get(node.targets[0].id) != resolved:
                    bound[node.targets[0].id] = resolved
                    changed = True
        if not changed:
            break
    return bound


def _resolve(node: ast.expr, bound: dict[str, str]) -> str | None:
    parts = _dotted(node)
    if not parts or parts[0] not in bound:
        return None
    return ".".join([bound[parts[0]], *parts[1:]])


def _backend_function(qualified: str) -> str | None:
    for module in BACKEND_MODULES:
        if qualified.startswith(module + "."):
            return qualified[len(module) + 1:]
    return None


def find_backend_calls(text: str) -> list[BackendCall]:
    """Every call in `text` whose callee is a function of a Keras backend module, however it was imported.
    Text that does not parse has none (the caller reports compile failures on its own)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like in third-party code
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    bound = _bindings(tree)
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        qualified = _resolve(node.func, bound)
        function = _backend_function(qualified) if qualified else None
        if function:
            calls.append(BackendCall(node.lineno, node.col_offset + 1, function, ast.unparse(node.func)))
    return sorted(calls, key=lambda call: (call.line, call.column))
