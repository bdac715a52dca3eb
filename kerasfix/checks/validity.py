"""KF301/KF302/KF383: Keras names and arguments that Keras 3 does not have, judged by `rules/keras_api.json`.

Also the transforms of `rules/keras3.toml` (KF380-KF387), which need to read the call's file paths.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

import libcst as cst

from kerasfix import api, ruledata
from kerasfix.checks.callargs import NOT_LITERAL, keyword_arg, literal, with_args
from kerasfix.checks.entries import entries
from kerasfix.checks.rewrite import code, drop, new_slot, set_value, short
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.findings import Edit
from kerasfix.names import canonical, dotted, normalise_root
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node
from kerasfix.spelling import spell

# This module's transforms, by name; kerasfix/checks/transforms.py merges them into TRANSFORMS.
transform = TransformRegistry()

# --- what the snapshot and the rules know -------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _legacy_modules() -> frozenset[str]:
    """Module paths of Keras 1/2 that rules/names.toml maps to Keras 3 modules (KF303 reports them)."""
    return frozenset(ruledata.load("names").get("modules", {}))


@functools.lru_cache(maxsize=1)
def removed_modules() -> dict[str, str]:
    """Modules with no Keras 3 successor module, and what to use instead (KF303 reports them)."""
    return dict(ruledata.load("keras3").get("removed_modules", {}))


def _inside(name: str, modules) -> bool:
    return any(name == module or name.startswith(module + ".") for module in modules)


@functools.lru_cache(maxsize=1)
def _known_parents() -> frozenset[str]:
    """Module paths that lead to a legacy module or symbol a rule knows (`keras.layers.experimental`)."""
    parents: set[str] = set()
    for name in (*_legacy_modules(), *removed_modules(), *api.legacy_symbols()):
        parts = name.split(".")
        parents.update(".".join(parts[:end]) for end in range(1, len(parts)))
    return frozenset(parents)


def _legacy_known(name: str) -> bool:
    legacy = api.legacy_symbols()
    return name in legacy or canonical(name) in legacy


def _exports(module: str) -> frozenset[str] | None:
    return api.exports(module)


@functools.lru_cache(maxsize=4096)
def _elsewhere(name: str) -> tuple[str, ...]:
    """Snapshot modules that export `name` (for `keras.backend.sum` -> `keras.ops`)."""
    return tuple(module for module, names in sorted(api.snapshot()["modules"].items()) if name in names)


# --- KF301 --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A Keras name that is not in Keras 3 and that no other rule knows."""

    name: str  # canonical
    module: str
    member: str


def judge(raw: str) -> Unknown | None:
    """Whether a raw dotted Keras name is unknown to Keras 3 (and to every rule)."""
    name = normalise_root(raw)
    if name is None or "." not in name:
        return None
    if _inside(name, _legacy_modules()) or _inside(name, removed_modules()):
        return None  # a legacy module path: KF303's
    if name in _known_parents() or _legacy_known(name):
        return None
    resolved = canonical(name) or name
    if _legacy_known(resolved):
        return None
    module, member = resolved.rsplit(".", 1)
    if member.startswith("_"):
        return None
    exported = _exports(module)
    if exported is None:
        # Not a module of the snapshot: only a parent of legacy modules (`keras.layers.experimental`) is judged.
        if module in _known_parents():
            return Unknown(resolved, module, member)
        return None
    if member in exported:
        return None
    return Unknown(resolved, module, member)


def close_matches(word: str, candidates) -> list[str]:
    """The candidates `word` is most likely a misspelling of, best first."""
    folded = sorted(name for name in candidates if name.lower() == word.lower())
    if folded:
        return folded
    scored = []
    for name in candidates:
        ratio = difflib.SequenceMatcher(None, word, name).ratio()
        if ratio >= 0.75:
            scored.append((-ratio, name))
    return [name for _, name in sorted(scored)[:3]]


def unknown_message(unknown: Unknown) -> str:
    head = f"`{unknown.name}` is not part of Keras 3"
    exported = _exports(unknown.module) or frozenset()
    close = close_matches(unknown.member, exported)
    if close:
        return head + "; did you mean " + " or ".join(f"`{name}`" for name in close) + "?"
    elsewhere = [module for module in _elsewhere(unknown.member) if module != unknown.module]
    if elsewhere:
        return head + "; it exists as " + " and ".join(f"`{module}.{unknown.member}`" for module in elsewhere[:2])
    return head


KF301 = RuleSpec(
    code="KF301",
    name="unknown-keras-name",
    summary="A Keras name that Keras 3 does not have (a typo, or an API removed without a rule for it)",
    fix_safety="none",
    removed_in="",
    what=(
        "Finds names used through a Keras module (`layers.Conv2D2D`, `keras.backend.sum`, "
        "`from keras.layers import MaxPooling`) that the public Keras 3 API (the snapshot "
        "`rules/keras_api.json`) does not list, and suggests the closest names of that module, or the "
        "module that has the name. Names that another rule reports (removed or renamed APIs such as "
        "`merge` or `Convolution2D`) and legacy module paths (KF303) are left to those rules. Imports "
        "inside a `try:` whose `except` catches `ImportError` are not flagged: they are version checks."
    ),
    why=(
        "Such code fails when it runs: `AttributeError: module 'keras.layers' has no attribute 'Conv2D2D'` "
        "or an `ImportError`, often only after minutes of data loading. The snapshot is the API of "
        "Keras 3.15; a name added in a later Keras version is reported until the snapshot is regenerated."
    ),
    fix_note="A typo can have several plausible corrections (`MaxPooling` -> `MaxPooling1D`, `2D` or `3D`), so the choice is left to you.",
    examples=(
        Example("from keras import layers\nx = layers.Conv2D2D(32, 3)(inputs)\n"),
        Example("import tensorflow as tf\npool = tf.keras.layers.MaxPooling(2)\n"),
        Example("from keras.layers import Dense, Dropuot\n"),
        Example("from keras import backend as K\nprint(K.flaotx())\n"),
        Example(
            "import keras\nfrom keras import layers\nx = layers.Conv2D(32, 3)(inputs)\n"
            "y = keras.ops.sum(x)\nprint(keras.__version__)\n",
            valid=True,
        ),
        Example(
            "try:\n    from keras.layers import CuDNNLSTM as RNN\nexcept ImportError:\n    from keras.layers import LSTM as RNN\n",
            valid=True,
        ),
    ),
)


# --- KF302 --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _validity_data() -> dict:
    return dict(ruledata.load("keras3").get("validity", {}))


@functools.lru_cache(maxsize=1)
def _extra_keywords() -> dict[str, frozenset[str]]:
    """Keywords a class accepts through `**kwargs` beyond its own parameters, by canonical class name."""
    data = _validity_data()
    extra: dict[str, set[str]] = {}
    for keyword, classes in data.get("popped", {}).items():
        for name in classes:
            extra.setdefault(name, set()).add(keyword)
    for keyword, classes in data.get("forwarded", {}).items():
        for name in classes:
            extra.setdefault(f"keras.layers.{name}", set()).add(keyword)
    return {name: frozenset(keywords) for name, keywords in extra.items()}


@dataclass(frozen=True)
class Signature:
    """What a Keras 3 callable accepts, as far as KF302 checks it."""

    symbol: str
    positional: tuple[str, ...]  # parameters that can be passed positionally
    keywords: frozenset[str] | None  # None: any keyword may be accepted
    var_positional: bool
    swallows: bool  # unknown keywords are ignored silently instead of raising


def _layer_class_of(function: str) -> dict | None:
    """The layer a `keras.layers` function builds from its `**kwargs` (`concatenate` -> `Concatenate`)."""
    module, name = function.rsplit(".", 1)
    symbols = api.snapshot()["symbols"]
    for exported in _exports(module) or ():
        if exported.lower() == name.lower() and exported != name:
            entry = symbols.get(f"{module}.{exported}")
            if entry is not None and entry.get("layer"):
                return entry
    return None


@functools.lru_cache(maxsize=2048)
def signature(symbol: str) -> Signature | None:
    snapshot = api.snapshot()
    entry = snapshot["symbols"].get(symbol)
    if entry is None or "params" not in entry or entry.get("kind") not in ("class", "function"):
        return None
    params = entry["params"]
    positional = tuple(p["name"] for p in params if not p.get("keyword_only"))
    names = {p["name"] for p in params}
    data = _validity_data()
    swallows = symbol in data.get("swallowing", [])
    base = set(snapshot.get("layer_base_keywords", []))
    keywords: set[str] | None = names | set(_extra_keywords().get(symbol, ()))
    if entry.get("var_keyword") and entry.get("var_positional"):
        keywords = None  # `Model(*args, **kwargs)`: the signature says nothing
    elif entry.get("var_keyword"):
        layer_of_function = _layer_class_of(symbol) if entry.get("kind") == "function" else None
        if entry.get("layer"):
            keywords |= base
        elif layer_of_function is not None:
            keywords |= base | {p["name"] for p in layer_of_function["params"]}
        elif symbol.rsplit(".", 1)[0] == "keras.optimizers" and symbol not in data.get("open_optimizers", []):
            pass  # the base optimizer raises "Argument(s) not recognized" for anything else
        elif not swallows:
            keywords = None
    return Signature(symbol, positional, frozenset(keywords) if keywords is not None else None, bool(entry.get("var_positional")), swallows)


def _strings(value) -> set[str]:
    """Every string in a TOML value, keys included (the keywords a transform's options name)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        found = set(value)
        for item in value.values():
            found |= _strings(item)
        return found
    if isinstance(value, (list, tuple)):
        found = set()
        for item in value:
            found |= _strings(item)
        return found
    return set()


@functools.lru_cache(maxsize=1)
def catalogue_keywords() -> dict[str, frozenset[str]]:
    """Per symbol, the argument names some catalogue entry handles (KF302 leaves them to it)."""
    handled: dict[str, set[str]] = {}
    for entry in entries():
        names = set(entry.renames) | set(entry.values) | set(entry.remove) | set(entry.report) | set(entry.positional)
        for _, parts in entry.combine:
            names |= set(parts)
        if entry.transform:
            names |= _strings(entry.options)
        for symbol in entry.symbols:
            handled.setdefault(symbol, set()).update(names)
    return {symbol: frozenset(names) for symbol, names in handled.items()}


@functools.lru_cache(maxsize=1)
def _positional_rules() -> frozenset[str]:
    """Symbols whose positional arguments a catalogue entry reads with an older signature."""
    return frozenset(symbol for entry in entries() if entry.positional or entry.transform for symbol in entry.symbols)


KF302 = RuleSpec(
    code="KF302",
    name="unknown-argument",
    summary="An argument that the Keras 3 class or function does not take",
    fix_safety="none",
    what=(
        "Checks calls of Keras 3 classes and functions against their signatures in the snapshot "
        "`rules/keras_api.json`: keywords they do not take (`Dense(10, activaton='relu')`, "
        "`MaxPooling2D(3, activation='relu')`), more positional arguments than they have parameters, and "
        "an argument given both positionally and by keyword. Layers also take the base `Layer` keywords "
        "(`name`, `dtype`, `trainable`, `input_shape`, ...). Keywords that another rule reports for the "
        "same class (Keras 1 names such as `border_mode`, `output_dim`) are left to that rule. Methods "
        "(`model.fit(...)`) are not checked."
    ),
    why=(
        "Keras 3 raises `ValueError: Unrecognized keyword arguments passed to Dense: {'activaton': 'relu'}` "
        "or a `TypeError`, when the model is built. A few classes swallow unknown keywords instead: "
        "`ReduceLROnPlateau(epsilon=0.01)` silently keeps its default `min_delta`, which is worse."
    ),
    fix_note="A misspelt keyword is reported with the closest names the class takes; the choice is left to you.",
    examples=(
        Example("from keras.layers import Dense\nlayer = Dense(10, activaton='relu')\n"),
        Example("from keras import layers\npool = layers.MaxPooling2D(3, activation='relu')\n"),
        Example("from keras.utils import to_categorical\ny = to_categorical(labels, 10, 'float32')\n"),
        Example("from keras.layers import Dense\nlayer = Dense(10, units=20)\n"),
        Example("from keras.callbacks import ReduceLROnPlateau\nreduce = ReduceLROnPlateau(monitor='val_loss', epsilon=0.01)\n"),
        Example(
            "import keras\nfrom keras import layers\n"
            "x = layers.Dense(10, activation='relu', name='hidden', input_shape=(4,))\n"
            "y = layers.concatenate([a, b], axis=-1, name='joined')\n"
            "model.fit(x, y, nb_epoch=3)\n",
            valid=True,
        ),
    ),
)


# --- KF383 --------------------------------------------------------------------------------------------

LAYER_KEYWORDS = {
    "batch_input_shape": (
        "start the model with `keras.Input(batch_shape=...)` (in a Sequential model: "
        "`Sequential([keras.Input(batch_shape=(batch, ...)), ...])`)"
    ),
    "batch_size": "give it to the model's input: `keras.Input(shape=..., batch_size=...)`",
    "weights": "call `layer.set_weights([...])` once the layer is built, or pass initializers (`kernel_initializer=keras.initializers.Constant(W)`)",
    "input_dtype": "give the dtype to the model's input: `keras.Input(shape=..., dtype=...)`",
}

KF383 = RuleSpec(
    code="KF383",
    name="layer-construction-arguments-removed",
    summary="Keras 3 layers do not take `batch_input_shape`, `batch_size`, `weights` or `input_dtype`",
    fix_safety="sometimes",
    removed_in="3.0",
    what=(
        "Reports these keywords on Keras 3 layer classes that do not take them (all but a few: "
        "`Embedding` and `Bidirectional` still take `weights`, `InputLayer` takes `batch_input_shape` "
        "and `batch_size`), with the Keras 3 way to say the same. On the first layer of a Sequential "
        "model (`Sequential([layer, ...])`, or `model.add(layer)` right after `model = Sequential()`), "
        "`batch_input_shape=s` is rewritten to a `keras.Input(batch_shape=s)` before the layer, which "
        "is the input Keras 2 built from it."
    ),
    why=(
        "Keras 2's base `Layer` took them to create the model's input when the layer came first, or to "
        "set initial weights. Keras 3's base `Layer` takes only `input_shape`/`input_dim` of those and "
        "raises `ValueError: Unrecognized keyword arguments passed to LSTM: {'batch_input_shape': (32, 10, 8)}`. "
        "Stateful RNNs, which need a fixed batch size, were usually built this way."
    ),
    examples=(
        Example(
            "from keras.layers import LSTM\nfrom keras.models import Sequential\n"
            "model = Sequential()\nmodel.add(LSTM(32, batch_input_shape=(16, 10, 8), stateful=True))\n",
            "from keras.layers import LSTM, Input\nfrom keras.models import Sequential\n"
            "model = Sequential()\nmodel.add(Input(batch_shape=(16, 10, 8)))\nmodel.add(LSTM(32, stateful=True))\n",
            target="keras",
        ),
        Example(
            "import keras\nmodel = keras.Sequential([\n    keras.layers.GRU(8, batch_input_shape=(4, 5, 3), stateful=True),\n"
            "    keras.layers.Dense(1),\n])\n",
            "import keras\nmodel = keras.Sequential([\n    keras.layers.Input(batch_shape=(4, 5, 3)), keras.layers.GRU(8, stateful=True),\n"
            "    keras.layers.Dense(1),\n])\n",
            target="keras",
        ),

        Example("from keras.layers import Dense\nlayer = Dense(2, weights=[kernel, bias])\n"),
        Example(
            "import keras\nfrom keras.layers import Embedding, InputLayer\n"
            "emb = Embedding(1000, 64, weights=[matrix], trainable=False)\n"
            "first = InputLayer(batch_input_shape=(16, 10))\n"
            "model = keras.Sequential([keras.Input(batch_shape=(16, 10, 8)), keras.layers.LSTM(32, stateful=True)])\n",
            valid=True,
        ),
    ),
)


# --- KF327 --------------------------------------------------------------------------------------------

# The sizes Keras 3 checks with `isinstance(value, int)`, by layer: a NumPy integer is refused.
INTEGER_SIZES = {"keras.layers.Dense": ("units",), "keras.layers.Embedding": ("input_dim", "output_dim")}

KF327 = RuleSpec(
    code="KF327",
    name="numpy-integer-layer-size",
    summary="Keras 3 `Dense` and `Embedding` refuse a NumPy integer as a size (`Dense(np.max(y) + 1)`): pass `int(...)`",
    fix_safety="safe",
    removed_in="3.0",
    what=(
        "Wraps a size argument computed with a NumPy function (`units` of `Dense`; `input_dim` and "
        "`output_dim` of `Embedding`), such as `np.max(y) + 1`, in `int(...)`. A size that is already "
        "a Python int (`len(...)`, `x.shape[1]`, `int(...)`) is left alone, and so is a variable (its "
        "value is not followed)."
    ),
    why=(
        "Keras 2 converted sizes with `int()`; Keras 3 checks `isinstance(units, int)` and raises "
        "`ValueError: Received an invalid value for units, expected a positive integer. Received: units=3` "
        "for a NumPy integer, though it prints like a Python one. A class count or vocabulary size "
        "computed from the data with NumPy is the common case."
    ),
    examples=(
        Example(
            "import numpy as np\nfrom keras.layers import Dense\nhead = Dense(np.max(y_train) + 1, activation='softmax')\n",
            "import numpy as np\nfrom keras.layers import Dense\nhead = Dense(int(np.max(y_train) + 1), activation='softmax')\n",
        ),
        Example(
            "import numpy\nfrom keras import layers\nembed = layers.Embedding(input_dim=numpy.amax(tokens) + 1, output_dim=64)\n",
            "import numpy\nfrom keras import layers\nembed = layers.Embedding(input_dim=int(numpy.amax(tokens) + 1), output_dim=64)\n",
        ),
        Example(
            "import numpy as np\nfrom keras.layers import Dense\nhead = Dense(len(np.unique(y_train)), activation='softmax')\n"
            "out = Dense(int(np.max(y_train)) + 1)\n",
            valid=True,
        ),
    ),
)


def _numpy_valued(ctx, node: cst.BaseExpression) -> bool:
    """An integer expression whose value comes from a NumPy function (`np.max(y) + 1`): a call of the
    NumPy module at its top or in an arithmetic operand; an `int(...)` or `len(...)` around it is Python."""
    if isinstance(node, cst.BinaryOperation):
        return _numpy_valued(ctx, node.left) or _numpy_valued(ctx, node.right)
    if isinstance(node, cst.Call):
        raw = ctx.imports.resolve(node.func) or ""
        return raw == "numpy" or raw.startswith("numpy.")
    return False


def _builtin_free(ctx, name: str) -> bool:
    """`name` means the builtin everywhere in the file: no import, assignment or parameter binds it."""
    from kerasfix.spelling import file_scopes

    return not (name in ctx.imports.bindings or name in ctx.imports.local_names or name in file_scopes(ctx).anywhere)


# --- the checker --------------------------------------------------------------------------------------

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _catches_import_error(node: cst.Try) -> bool:
    for handler in node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [cst.Element(handler.type)]
        for element in types:
            name = dotted(element.value)
            if name is not None and name.rsplit(".", 1)[-1] in _IMPORT_ERRORS:
                return True
    return False


class ValidityChecker(Checker):
    specs = (KF301, KF302, KF327, KF383)
    tokens = ("keras",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._in_import = 0
        self._guarded: list[bool] = []  # per enclosing try/except part: does it guard imports?

    # -- where imports are

    def visit_Try(self, node: cst.Try) -> None:
        self._guarded.append(_catches_import_error(node))

    def leave_Try(self, node: cst.Try) -> None:
        self._guarded.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._guarded.append(False)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._guarded.pop()

    def visit_Else(self, node: cst.Else) -> None:
        self._guarded.append(False)

    def leave_Else(self, node: cst.Else) -> None:
        self._guarded.pop()

    def visit_Finally(self, node: cst.Finally) -> None:
        self._guarded.append(False)

    def leave_Finally(self, node: cst.Finally) -> None:
        self._guarded.pop()

    @property
    def _import_guarded(self) -> bool:
        return bool(self._guarded) and self._guarded[-1]

    # -- KF301: imports

    def visit_Import(self, node: cst.Import) -> None:
        self._in_import += 1
        if self._import_guarded:
            return
        for alias in node.names:
            full = dotted(alias.name)
            if full is None:
                continue
            parts = full.split(".")
            for end in range(2, len(parts) + 1):
                unknown = judge(".".join(parts[:end]))
                if unknown is not None:
                    self.report(alias, "KF301", unknown_message(unknown))
                    break

    def leave_Import(self, node: cst.Import) -> None:
        self._in_import -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1
        if self._import_guarded or node.relative or node.module is None:
            return
        module = dotted(node.module)
        if module is None or normalise_root(module) is None:
            return
        parts = module.split(".")
        for end in range(2, len(parts) + 1):
            unknown = judge(".".join(parts[:end]))
            if unknown is not None:
                self.report(node.module, "KF301", unknown_message(unknown))
                return
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if isinstance(alias.name, cst.Name):
                unknown = judge(f"{module}.{alias.name.value}")
                if unknown is not None:
                    self.report(alias, "KF301", unknown_message(unknown))

    def leave_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import -= 1

    # -- KF301: attributes

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._in_import:
            return
        raw = self.ctx.imports.resolve(node)
        if raw is None:
            return
        unknown = judge(raw)
        if unknown is None:
            return
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.AssignTarget) and parent.target is node:
            return  # setting an attribute (a monkeypatch) is not a use
        self.report(node, "KF301", unknown_message(unknown))

    # -- KF302 / KF383: calls

    def visit_Call(self, node: cst.Call) -> None:
        symbol = self.ctx.qualified(node.func)
        if symbol is None:
            return
        sig = signature(symbol)
        if sig is None:
            return
        if symbol in INTEGER_SIZES and self.ctx.enabled("KF327"):
            self._integer_sizes(node, symbol)
        handled = catalogue_keywords().get(symbol, frozenset())
        layer = bool(api.snapshot()["symbols"].get(symbol, {}).get("layer"))
        if not any(arg.star == "*" for arg in node.args) and symbol not in _positional_rules():
            self._positional(node, sig)
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if keyword in handled:
                continue
            if sig.keywords is None or keyword in sig.keywords:
                continue
            if layer and keyword in LAYER_KEYWORDS:
                fix = self._first_layer_input(node, arg) if keyword == "batch_input_shape" else None
                self.report(arg, "KF383", f"`{short(symbol)}()` does not take `{keyword}` in Keras 3: {LAYER_KEYWORDS[keyword]}", fix)
                continue
            self.report(arg, "KF302", self._keyword_message(sig, keyword))

    def _integer_sizes(self, node: cst.Call, symbol: str) -> None:
        names = INTEGER_SIZES[symbol]
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        for arg in node.args:
            if arg.star:
                continue
            name = arg.keyword.value if arg.keyword is not None else None
            if name is None:
                index = positional.index(arg)
                name = names[index] if index < len(names) else None
            if name not in names or not _numpy_valued(self.ctx, arg.value):
                continue
            message = f"`{short(symbol)}({name}=...)` is a NumPy integer, which Keras 3 refuses: pass `int(...)`"
            if not _builtin_free(self.ctx, "int"):
                self.report(arg, "KF327", message + " (this file rebinds `int`: no automatic fix)")
                continue
            wrapped = cst.Call(func=cst.Name("int"), args=[cst.Arg(arg.value)])
            self.report(arg, "KF327", message, make_fix("safe", f"Wrap `{name}` in `int(...)`", [replace_node(self.ctx, arg.value, wrapped)]))

    def _first_layer_input(self, node: cst.Call, arg: cst.Arg):
        """For the first layer of a Sequential model (`Sequential([LSTM(..., batch_input_shape=s), ...])`,
        or `model.add(LSTM(...))` right after `model = Sequential()`): a `keras.Input(batch_shape=s)`
        before it, which is what Keras 2 built from the argument. None elsewhere."""
        ctx = self.ctx
        if arg.star or len([a for a in node.args if a.keyword is not None and a.keyword.value in LAYER_KEYWORDS]) > 1:
            return None
        parent = ctx.parent(node)
        layer = with_args(node, [a for a in node.args if a is not arg])
        spelled = spell(ctx, "keras.layers.Input", node, func=node.func)
        if spelled is None:
            return None
        shape = ctx.code_for(arg.value).strip()
        new_input = f"{spelled.text}(batch_shape={shape})"
        if isinstance(parent, cst.Element) and _first_of_sequential(ctx, parent):
            edit = Edit(*ctx.span(node), f"{new_input}, {ctx.module.code_for_node(layer)}")
        else:
            statement = _first_add(ctx, node)
            if statement is None:
                return None
            add = statement.body[0].value
            target = ctx.code_for(add.func.value)
            line = ctx.module.code_for_node(statement.with_changes(body=[statement.body[0].with_changes(value=add.with_changes(args=[add.args[0].with_changes(value=layer)]))]))
            indent = "".join(ctx.indentation(statement))
            start, end = ctx.span(statement.body[0])
            edit = Edit(start, end, f"{target}.add({new_input}){ctx.module.default_newline}{indent}{line.strip()}")
        return make_fix("safe", f"Start the model with `{new_input}`", [edit], list(spelled.requires), writes=[spelled.written])

    def _positional(self, node: cst.Call, sig: Signature) -> None:
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        name = short(sig.symbol)
        if not sig.var_positional and len(positional) > len(sig.positional):
            extra = positional[len(sig.positional)]
            allowed = len(sig.positional)
            self.report(
                extra,
                "KF302",
                f"`{name}()` takes at most {allowed} positional argument{'s' if allowed != 1 else ''} "
                f"({', '.join(f'`{p}`' for p in sig.positional)}), {len(positional)} given",
            )
            return
        bound = set(sig.positional[: len(positional)])
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in bound:
                self.report(arg, "KF302", f"`{name}()` gets `{arg.keyword.value}` both positionally and by keyword")

    @staticmethod
    def _keyword_message(sig: Signature, keyword: str) -> str:
        name = short(sig.symbol)
        close = close_matches(keyword, sig.keywords or ())
        if sig.swallows:
            text = f"`{name}()` has no argument `{keyword}`: Keras 3 silently ignores it"
        else:
            text = f"`{name}()` has no argument `{keyword}`"
        if close:
            text += "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
        return text


# --- transforms of rules/keras3.toml ------------------------------------------------------------------
# Registered on import; the registry imports this module with the other checkers, before any file is
# checked.

_PLACEHOLDER_ENDS = ("}", "%s", "%d", "%i", "%r")


def path_suffix(node: cst.BaseExpression | None) -> str | None:
    """The literal text a path expression ends with, or None when its end is not written out.

    `'a/model.h5'`, `f'{d}/model_{e}.h5'`, `d + '/model.h5'`, `os.path.join(d, 'model.h5')`,
    `'model_{}.h5'.format(e)` and `Path(d) / 'model.h5'` all end with `model.h5`.
    """
    if node is None:
        return None
    if isinstance(node, cst.SimpleString):
        value = literal(node)
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        return path_suffix(node.right)
    if isinstance(node, cst.FormattedString):
        if node.parts and isinstance(node.parts[-1], cst.FormattedStringText):
            return node.parts[-1].value
        return None
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, (cst.Add, cst.Divide)):
            return path_suffix(node.right)
        if isinstance(node.operator, cst.Modulo):
            text = path_suffix(node.left)
            return None if text is None or text.endswith(_PLACEHOLDER_ENDS) else text
        return None
    if isinstance(node, cst.Call):
        func = dotted(node.func)
        if func is not None and (func.endswith("path.join") or func in ("str", "Path", "pathlib.Path")) and node.args:
            last = node.args[-1]
            return None if last.star or last.keyword is not None else path_suffix(last.value)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
            text = path_suffix(node.func.value)
            return None if text is None or text.endswith(_PLACEHOLDER_ENDS) else text
    return None


def _path_slot(rewrite, position: int):
    for slot in rewrite.slots:
        if not slot.positional and slot.name == "filepath":
            return slot
    positional = [slot for slot in rewrite.slots if slot.positional]
    return positional[position] if len(positional) > position else None


def _path_position(entry, rewrite) -> int:
    positions = entry.options.get("path_position", {"method": 0, "function": 1})
    return positions["function"] if rewrite.target is not None else positions["method"]


@transform("pool-size-required")
def pool_size_required(entry, rewrite) -> None:
    """`AveragePooling2D()` -> `AveragePooling2D(pool_size=(2, 2))`."""
    if rewrite.target is None or any(slot.arg.star for slot in rewrite.slots):
        return
    if any(slot.positional for slot in rewrite.slots):
        return  # the first positional argument is the pool size
    if {slot.name for slot in rewrite.slots} & {"pool_size", "pool_length"}:
        return  # `pool_length` is the Keras 1 name, which another rule renames
    default = entry.options["defaults"][short(rewrite.target)]

    def apply(plan) -> None:
        plan.slots.insert(0, new_slot("pool_size", default))

    rewrite.add(entry.code, entry.fix, f"add `pool_size={default}`, the Keras 2 default", apply)


def _format_matches(value, suffix: str, extensions: dict) -> bool:
    if value is NOT_LITERAL:
        return True  # whatever it names, Keras 3 ignores it
    for extension, formats in extensions.items():
        if suffix.endswith(extension):
            return isinstance(value, str) and value.lower() in formats
    return False


@transform("save-format")
def save_format(entry, rewrite) -> None:
    """Drops `save_format=` where the path's extension names the format, as Keras 3 then ignores it."""
    slot = rewrite.slot("save_format")
    if slot is None:
        return
    extensions: dict = entry.options["extensions"]
    path = _path_slot(rewrite, _path_position(entry, rewrite))
    suffix = path_suffix(path.arg.value) if path is not None else None
    value = literal(slot.arg.value)
    shown = code(rewrite, slot.arg.value)
    if suffix is None:
        rewrite.add(
            entry.code,
            "none",
            f"remove `save_format={shown}` and make sure the path ends in `.keras` (or `.h5`): with any other "
            f"path Keras 3 raises ValueError; for a TensorFlow SavedModel use `model.export(path)`",
        )
        return
    if not suffix.endswith(tuple(extensions)):
        rewrite.add(
            entry.code,
            "none",
            f"Keras 3 raises ValueError for `save_format={shown}` with this path: save to a `.keras` file, "
            f"or call `model.export(path)` for a TensorFlow SavedModel",
        )
        return

    apply = drop("save_format")
    if _format_matches(value, suffix, extensions):
        rewrite.add(entry.code, entry.fix, f"remove `save_format={shown}` (Keras 3 reads the format from the extension)", apply)
    else:
        rewrite.add(
            entry.code,
            "unsafe",
            f"remove `save_format={shown}`: Keras 2 wrote that format here, Keras 3 writes the one the extension names",
            apply,
        )


# Calls whose result is a Keras model, and the base classes of Keras models.
_MODEL_FACTORIES = frozenset(
    {"keras.Sequential", "keras.Model", "keras.models.load_model", "keras.saving.load_model",
     "keras.models.model_from_json", "keras.models.clone_model"}
)
_MODEL_CLASSES = frozenset({"keras.Sequential", "keras.Model"})


class _ModelEvidence(cst.CSTVisitor):
    """What the file assigns to each name or attribute, its functions, and its Keras model classes."""

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.assigned: dict[str, list[cst.BaseExpression]] = {}
        self.functions: dict[str, list[cst.FunctionDef]] = {}
        self.model_classes: set[str] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, (cst.Name, cst.Attribute)):
                self.assigned.setdefault(self.ctx.code_for(target.target), []).append(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.setdefault(node.name.value, []).append(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if any(self.ctx.qualified(base.value) in _MODEL_CLASSES for base in node.bases):
            self.model_classes.add(node.name.value)


def _evidence(ctx) -> _ModelEvidence:
    found = ctx.__dict__.get("_model_evidence")
    if found is None:
        found = _ModelEvidence(ctx)
        # the engine's shared read-only walk, not `Module.visit`, which rebuilds every node of the file
        # (each kind is gathered apart: the three fill different tables, in source order)
        for node_type, handler in ((cst.Assign, found.visit_Assign), (cst.FunctionDef, found.visit_FunctionDef), (cst.ClassDef, found.visit_ClassDef)):
            for node in ctx.nodes_of(node_type):
                handler(node)
        ctx.__dict__["_model_evidence"] = found
    return found


def _makes_model(ctx, value: cst.BaseExpression, evidence: _ModelEvidence) -> bool:
    if not isinstance(value, cst.Call):
        return False
    name = ctx.qualified(value.func)
    if name in _MODEL_FACTORIES or (name or "").startswith("keras.applications."):
        return True
    if isinstance(value.func, cst.Name):
        if value.func.value in evidence.model_classes:
            return True
        for function in evidence.functions.get(value.func.value, []):
            if _function_builds_model(ctx, function):
                return True
    return False


def _function_builds_model(ctx, function: cst.FunctionDef) -> bool:
    """Whether a function of the file calls `keras.Sequential` or `keras.Model` (builds a model)."""
    found = False

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            found = found or ctx.qualified(call.func) in _MODEL_CLASSES

    function.visit(Visitor())
    return found


def is_keras_model(ctx, receiver: cst.BaseExpression) -> bool:
    """Whether the file shows `receiver` to be a Keras model (it is assigned one)."""
    if not isinstance(receiver, (cst.Name, cst.Attribute)):
        return False
    evidence = _evidence(ctx)
    return any(_makes_model(ctx, value, evidence) for value in evidence.assigned.get(ctx.code_for(receiver), []))


@transform("save-path")
def save_path(entry, rewrite) -> None:
    """Reports `model.save('dir')`: Keras 3 writes only `.keras` and `.h5` files."""
    if rewrite.slot("save_format") is not None:
        return  # KF382 says what to do
    func = rewrite.node.func
    if rewrite.target is None and not (isinstance(func, cst.Attribute) and is_keras_model(rewrite.ctx, func.value)):
        return
    path = _path_slot(rewrite, _path_position(entry, rewrite))
    suffix = path_suffix(path.arg.value) if path is not None else None
    if suffix is None or suffix.endswith(tuple(entry.options["extensions"])):
        return
    rewrite.add(
        entry.code,
        "none",
        f"Keras 3 raises ValueError for the path {code(rewrite, path.arg.value)}: save to a `.keras` file to "
        f"load it back with `keras.models.load_model`, or call `model.export(path)` for a TensorFlow SavedModel",
    )


@transform("save-weights-path")
def save_weights_path(entry, rewrite) -> None:
    """Reports `save_weights(path)` unless the path ends in `.weights.h5`."""
    path = _path_slot(rewrite, _path_position(entry, rewrite))
    suffix = path_suffix(path.arg.value) if path is not None else None
    wanted = entry.options["suffix"]
    if suffix is None or suffix.endswith(wanted):
        return
    rewrite.add(
        entry.code,
        "none",
        f"Keras 3 raises ValueError for the path {code(rewrite, path.arg.value)}: the file name must end in `{wanted}`",
    )


@transform("checkpoint-path")
def checkpoint_path(entry, rewrite) -> None:
    """Reports `ModelCheckpoint` paths Keras 3 rejects."""
    options = entry.options
    path = _path_slot(rewrite, 0)
    suffix = path_suffix(path.arg.value) if path is not None else None
    if suffix is None:
        return
    weights_only = rewrite.slot("save_weights_only")
    if weights_only is None:
        positional = [slot for slot in rewrite.slots if slot.positional]
        position = options["save_weights_only_position"]
        weights_only = positional[position] if len(positional) > position else None
    flag = False if weights_only is None else literal(weights_only.arg.value)
    shown = code(rewrite, path.arg.value)
    if flag is True and not suffix.endswith(options["weights_suffix"]):
        rewrite.add(entry.code, "none", f"with `save_weights_only=True` the path must end in `{options['weights_suffix']}`, not {shown}")
    elif flag is False and not suffix.endswith(tuple(options["model_extensions"])):
        rewrite.add(entry.code, "none", f"the path must end in `.keras` (or `.h5`), not {shown}")
    elif flag is NOT_LITERAL and not suffix.endswith(tuple(options["model_extensions"])):
        rewrite.add(entry.code, "none", f"the path must end in `.keras` or `.h5` (`.weights.h5` when saving weights only), not {shown}")


def _single_loss(ctx, node: cst.BaseExpression) -> bool:
    """Whether an expression is one loss (not a list or dict of them, as far as the code shows)."""
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, (cst.Name, cst.Attribute)):
        name = ctx.qualified(node) or ""
        if name.startswith("keras.losses."):
            return True
        if isinstance(node, cst.Name):
            return node.value in _evidence(ctx).functions
    return False


@transform("loss-per-output")
def loss_per_output(entry, rewrite) -> None:
    """`compile(loss='mse', loss_weights=[1, .5])` -> `loss=['mse', 'mse']`, as Keras 2 applied it."""
    loss, weights = rewrite.slot("loss"), rewrite.slot("loss_weights")
    if loss is None or weights is None or not _single_loss(rewrite.ctx, loss.arg.value):
        return
    shown = code(rewrite, loss.arg.value)
    value = weights.arg.value
    if isinstance(value, (cst.List, cst.Tuple)) and all(isinstance(e, cst.Element) for e in value.elements):
        if len(value.elements) < 2:
            return
        new = "[" + ", ".join([shown] * len(value.elements)) + "]"
    elif isinstance(value, cst.Dict) and all(isinstance(e, cst.DictElement) for e in value.elements):
        if len(value.elements) < 2:
            return
        new = "{" + ", ".join(f"{code(rewrite, e.key)}: {shown}" for e in value.elements) + "}"
    else:
        return
    rewrite.add(entry.code, entry.fix, f"`loss={shown}` -> `loss={new}`", set_value(loss.arg, cst.parse_expression(new)))


def _outputs(rewrite) -> int | list[str] | None:
    """How many outputs `compile()` shows the model has (a count, or the output names of a dict)."""
    for name in ("loss_weights", "loss"):
        slot = rewrite.slot(name)
        value = slot.arg.value if slot is not None else None
        if isinstance(value, (cst.List, cst.Tuple)) and len(value.elements) >= 2 and all(isinstance(e, cst.Element) for e in value.elements):
            return len(value.elements)
        if isinstance(value, cst.Dict) and len(value.elements) >= 2 and all(isinstance(e, cst.DictElement) for e in value.elements):
            return [code(rewrite, e.key) for e in value.elements]
    return None


@transform("metrics-per-output")
def metrics_per_output(entry, rewrite) -> None:
    """`compile(loss=[a, b], metrics=['mae'])` -> `metrics=[['mae'], ['mae']]`, as Keras 2 computed them."""
    slot = rewrite.slot("metrics")
    value = slot.arg.value if slot is not None else None
    if not isinstance(value, (cst.List, cst.Tuple)) or not value.elements:
        return
    if not all(isinstance(e, cst.Element) and not isinstance(e.value, (cst.List, cst.Tuple, cst.Dict)) for e in value.elements):
        return
    outputs = _outputs(rewrite)
    if outputs is None:
        return
    count = outputs if isinstance(outputs, int) else len(outputs)
    inner = "[" + ", ".join(code(rewrite, e.value) for e in value.elements) + "]"
    if isinstance(outputs, int):
        new = "[" + ", ".join([inner] * outputs) + "]"
    else:
        new = "{" + ", ".join(f"{key}: {inner}" for key in outputs) + "}"
    safety = "unsafe" if len(value.elements) == count else "safe"
    rewrite.add(
        entry.code,
        safety,
        f"`metrics={code(rewrite, value)}` -> `metrics={new}` (every metric for every output)",
        set_value(slot.arg, cst.parse_expression(new)),
    )


@transform("positional-to-keyword")
def positional_to_keyword(entry, rewrite) -> None:
    """Positional arguments past the first `keep` are written as keywords with their old names."""
    if any(slot.arg.star for slot in rewrite.slots):
        return
    late = [slot for slot in rewrite.slots if slot.positional][entry.options["keep"]:]
    if not late:
        return
    if any(slot.name is None for slot in late):
        rewrite.add(entry.code, "none", "more positional arguments than Keras 2 had: pass them by keyword")
        return
    moved = {id(slot.arg) for slot in late}

    def apply(plan) -> None:
        for slot in plan.slots:
            if id(slot.arg) in moved and slot.positional:
                slot.arg = keyword_arg(slot.name, slot.value or slot.arg.value, slot.arg)
                slot.positional = False

    names = ", ".join(f"`{slot.name}=`" for slot in late)
    rewrite.add(entry.code, entry.fix, f"pass {names} by keyword", apply)


def _first_of_sequential(ctx, element: cst.Element) -> bool:
    """`element` is the first of the list given to `Sequential([...])`."""
    listing = ctx.parent(element)
    call = ctx.parent(ctx.parent(listing)) if isinstance(listing, cst.List) else None
    return (
        isinstance(call, cst.Call)
        and ctx.qualified(call.func) == "keras.Sequential"
        and bool(call.args)
        and call.args[0].value is listing
        and listing.elements[0] is element
    )


def _first_add(ctx, layer: cst.Call) -> cst.SimpleStatementLine | None:
    """The line `model.add(layer)` when the statement just before it is `model = Sequential()`."""
    add = ctx.parent(ctx.parent(layer))
    statement = ctx.parent(ctx.parent(add)) if isinstance(add, cst.Call) else None
    if not (
        isinstance(add, cst.Call)
        and isinstance(add.func, cst.Attribute)
        and add.func.attr.value == "add"
        and isinstance(add.func.value, cst.Name)
        and len(add.args) == 1
        and add.args[0].value is layer
        and isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
    ):
        return None
    block = ctx.parent(statement)
    body = list(getattr(block, "body", ()))
    index = next((i for i, item in enumerate(body) if item is statement), 0)
    if index == 0:
        return None
    before = body[index - 1]
    if not (isinstance(before, cst.SimpleStatementLine) and len(before.body) == 1 and isinstance(before.body[0], cst.Assign)):
        return None
    assign = before.body[0]
    value = assign.value
    return statement if (
        len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and assign.targets[0].target.value == add.func.value.value
        and isinstance(value, cst.Call)
        and not value.args
        and ctx.qualified(value.func) == "keras.Sequential"
    ) else None
