"""A name a function (or class) binds for itself hides a module-level import only inside that definition:
`K = tf.tensordot(...)` in one method must not stop `K.reverse(...)` in another from being read as Keras."""

from __future__ import annotations

import libcst as cst
import pytest

from kerasfix.names import ImportTable
from tests.conftest import migrate


def _calls(code: str) -> dict[str, str | None]:
    """Each call's callee, as written, and what the file's import table says it is."""
    module = cst.parse_module(code)
    table = ImportTable.scan(module)
    found: dict[str, str | None] = {}

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found[module.code_for_node(node)] = table.qualified(node.func)

    module.visit(Calls())
    return found


HEADER = "from keras import backend as K\n"


@pytest.mark.parametrize(
    ("body", "call", "expected"),
    [
        # a local assignment in another function: the import still holds here
        ("def attention(q):\n    K = q * 2\n    return K.mean()\n\ndef flip(x):\n    return K.reverse(x, 1)\n", "K.reverse(x, 1)", "keras.backend.reverse"),
        # ... but not inside the function that assigns it, nor in a lambda nested there
        ("def attention(q):\n    K = q * 2\n    return K.mean()\n", "K.mean()", None),
        ("def attention(q):\n    K = q * 2\n    f = lambda: K.mean()\n", "K.mean()", None),
        # a method of another class assigns it; this one uses the import in a lambda
        (
            "class A:\n    def call(self, q):\n        K = q\n        return K\n\n"
            "class B:\n    def call(self, x):\n        return Lambda(lambda t: K.reverse(t, 1))(x)\n",
            "K.reverse(t, 1)",
            "keras.backend.reverse",
        ),
        # a parameter named like the import: local to its function only
        ("def f(K):\n    return K.sum(1)\n\ndef g(x):\n    return K.sum(x)\n", "K.sum(1)", None),
        ("def f(K):\n    return K.sum(1)\n\ndef g(x):\n    return K.sum(x)\n", "K.sum(x)", "keras.backend.sum"),
        # a loop variable in a function
        ("def f(xs):\n    for K in xs:\n        K.sum()\n\nK.sum(y)\n", "K.sum()", None),
        ("def f(xs):\n    for K in xs:\n        K.sum()\n\nK.sum(y)\n", "K.sum(y)", "keras.backend.sum"),
        # a class attribute: conservatively hidden in the whole class, the import holds outside it
        ("class C:\n    K = 3\n    def m(self, x):\n        return K.sum(x)\n\nK.abs(y)\n", "K.sum(x)", None),
        ("class C:\n    K = 3\n    def m(self, x):\n        return K.sum(x)\n\nK.abs(y)\n", "K.abs(y)", "keras.backend.abs"),
        # `global K` in a function rebinds the module's name: hidden in the whole file, as before
        ("def reset(x):\n    global K\n    K = x\n\ndef g(x):\n    return K.sum(x)\n", "K.sum(x)", None),
        # `nonlocal` too (conservatively)
        ("def outer():\n    def inner():\n        nonlocal K\n        K = 1\n\ndef g(x):\n    return K.sum(x)\n", "K.sum(x)", None),
        # a module-level assignment hides the import everywhere
        ("K = make_backend()\n\ndef g(x):\n    return K.sum(x)\n", "K.sum(x)", None),
        # assigned in a function and at module level: hidden everywhere
        ("def f(q):\n    K = q\n\nif flag:\n    K = other\n\ndef g(x):\n    return K.sum(x)\n", "K.sum(x)", None),
    ],
)
def test_local_binding_hides_the_import_only_where_it_is_bound(body: str, call: str, expected: str | None) -> None:
    assert _calls(HEADER + body)[call] == expected


def test_import_inside_a_function_is_not_made_file_wide() -> None:
    code = "def f(x):\n    from keras import backend as K\n    return K.sum(x)\n\ndef g(q):\n    K = q\n    return K\n"
    assert _calls(code)["K.sum(x)"] == "keras.backend.sum"  # nested imports are resolved as before


def test_large_file_parts_inherit_the_scoped_binding() -> None:
    first = cst.parse_module(HEADER + "def attention(q):\n    K = q\n    return K\n")
    table = ImportTable.scan(first)
    second = cst.parse_module("def flip(x):\n    return K.reverse(x, 1)\n")
    later = ImportTable.scan(second, table)
    call = second.body[0].body.body[0].body[0].value
    assert later.qualified(call.func) == "keras.backend.reverse"


def test_migrate_fixes_the_call_and_leaves_the_local_alone() -> None:
    code = (
        HEADER
        + "import tensorflow as tf\n\n\n"
        + "def attention(keys, w):\n    K = tf.tensordot(keys, w, axes=(-1, 0))\n    return K.shape\n\n\n"
        + "def flip(x):\n    return K.reverse(x, axes=1)\n"
    )
    fixed = migrate(code)
    assert "ops.flip(x, axis=1)" in fixed
    assert "K = tf.tensordot(keys, w, axes=(-1, 0))\n    return K.shape\n" in fixed


def test_spelling_never_writes_the_import_where_a_local_hides_it() -> None:
    # `K.epsilon()` stays Keras outside `f`; inside `f` a rewrite must not reuse `K` for keras.backend
    code = HEADER + "\n\ndef f(K):\n    return K.sum(1)\n\n\ndef g(x):\n    return K.sum(x) + K.epsilon()\n"
    fixed = migrate(code)
    assert "def f(K):\n    return K.sum(1)\n" in fixed
    assert "ops.sum(x) + K.epsilon()" in fixed
