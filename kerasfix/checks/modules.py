"""KF303: Keras 1/2 module paths (`keras.layers.core`, `keras.utils.np_utils`, ...) that Keras 3 removed.

The modern home of each legacy module is in `rules/names.toml` [modules]; whether a name lives there is
in the API snapshot. Imports are rewritten in the root spelling they already use (`tensorflow.keras...`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import libcst as cst

from kerasfix import api, ruledata
from kerasfix.checks.validity import removed_modules
from kerasfix.findings import Edit
from kerasfix.names import canonical, dotted, normalise_root
from kerasfix.rule import Checker, Example, RuleSpec, make_fix

# Private TensorFlow paths are spelled through the public one in the fixed code.
_ROOT_SPELLING = {"tensorflow.python.keras": "tensorflow.keras"}


@functools.lru_cache(maxsize=1)
def legacy_modules() -> dict[str, str]:
    """Legacy module -> Keras 3 module, longest first (so `keras.engine.topology` wins over `keras.engine`)."""
    table = ruledata.load("names").get("modules", {})
    return dict(sorted(table.items(), key=lambda item: -len(item[0])))


def _legacy_of(name: str) -> str | None:
    """The legacy module a normalised module path is (or lies inside), or None."""
    for module in legacy_modules():
        if name == module or name.startswith(module + "."):
            return module
    return None


def _removed_of(name: str) -> str | None:
    for module in removed_modules():
        if name == module or name.startswith(module + "."):
            return module
    return None


def _root(raw: str) -> str | None:
    """The part of a raw dotted name that stands for `keras` (`tensorflow.keras` in `tensorflow.keras.layers`)."""
    name = normalise_root(raw)
    if name is None:
        return None
    root = raw[: len(raw) - (len(name) - len("keras"))]
    return _ROOT_SPELLING.get(root, root)


def _private(raw: str) -> bool:
    """Whether a raw module path goes through a private root (`tensorflow.python.keras...`)."""
    return any(raw == root or raw.startswith(root + ".") for root in _ROOT_SPELLING)


def _spelled(root: str, module: str) -> str:
    """A canonical module spelled with a root: (`tensorflow.keras`, `keras.layers`) -> `tensorflow.keras.layers`."""
    return root + module[len("keras"):]


def known(module: str, name: str) -> bool:
    """Whether `module.name` exists in Keras 3, or is a legacy name another rule rewrites."""
    exported = api.exports(module)
    if exported is not None and name in exported:
        return True
    legacy = api.legacy_symbols() - api.removed_symbols()  # a removed layer is no import target
    full = f"{module}.{name}"
    return full in legacy or canonical(full) in legacy


def home(legacy: str, name: str) -> str | None:
    """The Keras 3 module to import `name` of a legacy module from, or None when it has none."""
    modern = legacy_modules()[legacy]
    exported = api.exports(modern) or frozenset()
    if name in exported:
        return modern
    member = canonical(f"{legacy}.{name}") or ""
    module, _, last = member.rpartition(".")
    if last == name and module:
        if module == "keras":
            # `keras.engine.topology.Model` -> keras.models, the module Keras 2 code imported models from
            for preferred in ("keras.models", "keras.layers"):
                if name in (api.exports(preferred) or ()):
                    return preferred
        if name in (api.exports(module) or ()):
            return module
    if known(modern, name):
        return modern
    return None


def _missing(legacy: str, name: str) -> str:
    """How to name a legacy module's member that Keras 3 lacks, with its renamed successor if it has one."""
    member = canonical(f"{legacy}.{name}") or ""
    module, _, last = member.rpartition(".")
    if module and last != name and known(module, last):
        return f"`{name}` (it is `{member}`)"
    return f"`{legacy_modules()[legacy]}.{name}`"


@dataclass
class _Uses:
    """How the file uses each bare name: the attributes read from it."""

    attributes: dict[str, set[str]] = field(default_factory=dict)


class _UseCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.uses = _Uses()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name):
            self.uses.attributes.setdefault(node.value.value, set()).add(node.attr.value)


KF303 = RuleSpec(
    code="KF303",
    name="legacy-module-path",
    summary="Keras 1/2 module paths (`keras.layers.core`, `keras.utils.np_utils`, ...) do not exist in Keras 3",
    fix_safety="sometimes",
    removed_in="3.0",
    what=(
        "Rewrites imports from the module paths of Keras 1 and 2 to the Keras 3 module that holds the same "
        "names: `from keras.layers.core import Dense, Dropout` -> `from keras.layers import Dense, Dropout` "
        "(likewise `convolutional`, `recurrent`, `pooling`, `normalization`, `advanced_activations`, "
        "`embeddings`, `noise`, `wrappers`, `merge`, `local`, `keras.engine.*`, `keras.utils.np_utils`, "
        "`keras.utils.generic_utils`, `keras.layers.experimental.preprocessing`, `keras.optimizers.legacy`, "
        "`keras.objectives` -> `keras.losses`; the table is `rules/names.toml`). Names whose Keras 3 home is "
        "another module get their own import (`from keras.engine.topology import Input, Model` -> "
        "`from keras.layers import Input` and `from keras.models import Model`). An imported module keeps "
        "its name: `from keras.utils import np_utils` -> `from keras import utils as np_utils`, "
        "`import keras.utils.np_utils as np_utils` -> `import keras.utils as np_utils`, so `np_utils.X` still "
        "works. Spelled-out uses such as `keras.layers.core.Dense` become `keras.layers.Dense`. The import "
        "keeps its root (`tensorflow.keras...` stays `tensorflow.keras...`). `keras.wrappers.scikit_learn` "
        "is reported: it has no Keras 3 module."
    ),
    why=(
        "Keras 3 has none of these modules: `ModuleNotFoundError: No module named 'keras.layers.core'`, at "
        "the top of the program. (`keras.optimizers.legacy` still imports, but every class in it raises "
        "`ImportError` when created.) The names themselves mostly survive in the public modules."
    ),
    fix_note=(
        "The fix is safe when every imported name (or every attribute used of an imported module) exists in "
        "the Keras 3 module, or is a removed name another rule rewrites; otherwise the finding lists the "
        "names Keras 3 lacks and there is no fix."
    ),
    examples=(
        Example(
            "from keras.layers.core import Dense, Dropout  # the MLP layers\n",
            "from keras.layers import Dense, Dropout  # the MLP layers\n",
        ),
        Example(
            "from tensorflow.keras.layers.experimental.preprocessing import (\n    Normalization,\n    Rescaling,\n)\n",
            "from tensorflow.keras.layers import (\n    Normalization,\n    Rescaling,\n)\n",
        ),
        Example(
            "from keras.utils import np_utils\nY = np_utils.to_categorical(y, 10)\n",
            "from keras import utils as np_utils\nY = np_utils.to_categorical(y, 10)\n",
        ),
        Example(
            "from keras.engine.topology import Input, Model\n",
            "from keras.layers import Input\nfrom keras.models import Model\n",
        ),
        Example("import keras\nlayer = keras.layers.core.Dense(10)\n", "import keras\nlayer = keras.layers.Dense(10)\n"),
        Example("from keras.layers.core import Dense, MaxoutDense2\n"),
        Example("from keras.wrappers.scikit_learn import KerasClassifier\n"),
        Example(
            "from keras.layers import Dense\nfrom keras.utils import to_categorical\nimport keras.utils\n",
            valid=True,
        ),
    ),
)


KF304 = RuleSpec(
    code="KF304",
    name="private-keras-path",
    summary="Imports through `tensorflow.python.keras`, TensorFlow's private copy of Keras 2, of which TensorFlow 2.16+ keeps a remnant",
    fix_safety="safe",
    removed_in="3.0",
    what=(
        "Spells imports through `tensorflow.python.keras` (TensorFlow's private copy of Keras, which code written "
        "for TensorFlow 2.0-2.5 often imported from) through the public `tensorflow.keras`: "
        "`from tensorflow.python.keras.layers import LSTM` -> `from tensorflow.keras.layers import LSTM`, "
        "`from tensorflow.python.keras import backend as K` -> `from tensorflow.keras import backend as K`, "
        "`import tensorflow.python.keras.layers as L` -> `import tensorflow.keras.layers as L`. Only modules "
        "Keras 3 has are rewritten; legacy module paths below the private root (`tensorflow.python.keras.layers.core`) "
        "are KF303's. A name Keras 3 lacks stays for the rule that knows it (KF376 for backend functions, KF301 "
        "for the rest): the private module lacks it too."
    ),
    why=(
        "TensorFlow 2.16 and later keep only a remnant of `tensorflow.python.keras`: "
        "`ImportError: cannot import name 'LSTM' from 'tensorflow.python.keras.layers'` at the top of the program "
        "(GRU, BatchNormalization and Bidirectional are gone too), and the layers left (`Dense`, `Layer`) are Keras 2 "
        "layers that cannot be called on Keras 3 tensors. "
        "Up to TensorFlow 2.5 the private path and `tf.keras` were one module, so the public spelling names the "
        "same classes."
    ),
    fix_note="Safe: the module is the public spelling of the one the program imported.",
    examples=(
        Example(
            "from tensorflow.python.keras import backend as K\nfrom tensorflow.python.keras.layers import LSTM, Layer\n",
            "from tensorflow.keras import backend as K\nfrom tensorflow.keras.layers import LSTM, Layer\n",
        ),
        Example("import tensorflow.python.keras.models as M\nm = M.Sequential()\n", "import tensorflow.keras.models as M\nm = M.Sequential()\n"),
        Example("from tensorflow.keras.layers import LSTM\nfrom tensorflow.python.ops import math_ops\n", valid=True),
    ),
)


class LegacyModuleChecker(Checker):
    specs = (KF303, KF304)
    tokens = ("keras",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._in_import = 0
        self._uses: _Uses | None = None

    def uses(self) -> _Uses:
        if self._uses is None:
            collector = _UseCollector()
            self.ctx.module.visit(collector)
            self._uses = collector.uses
        return self._uses

    # -- module objects bound to a local name

    def _module_alias(self, legacy: str, local: str) -> list[str]:
        """The attributes used of a name bound to a legacy module that its Keras 3 module lacks."""
        modern = legacy_modules()[legacy]
        return sorted(a for a in self.uses().attributes.get(local, ()) if not known(modern, a))

    # -- from-imports

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1
        if node.relative or node.module is None:
            return
        raw = dotted(node.module)
        name = normalise_root(raw) if raw else None
        if raw is None or name is None:
            return
        removed = _removed_of(name)
        if removed is not None:
            self.report(node, "KF303", removed_modules()[removed])
            return
        root = _root(raw)
        legacy = _legacy_of(name)
        if legacy is None and _private(raw):
            self._private_import(node, raw, name, root)
            return
        if isinstance(node.names, cst.ImportStar):
            if legacy is not None:
                target = _spelled(root, legacy_modules()[legacy])
                fix = make_fix("safe", f"Import from `{target}`", [self._replace(node.module, target)])
                self.report(node, "KF303", f"`{raw}` does not exist in Keras 3; import from `{target}`", fix)
            return
        self._from_import(node, raw, name, root, legacy)

    def _private_import(self, node: cst.ImportFrom, raw: str, name: str, root: str) -> None:
        """`from tensorflow.python.keras.layers import LSTM`: the same module through the public root, when
        Keras 3 has it. Names Keras 3 lacks stay as they are for the rules that know them (KF376 for backend
        functions, KF301 for the rest): the private module lacks them too."""
        if api.exports(name) is None:
            return
        target = _spelled(root, name)
        fix = make_fix("safe", f"Import from `{target}`", [self._replace(node.module, target)])
        self.report(node, "KF304", f"`{raw}` is TensorFlow's private copy of Keras 2, of which TensorFlow 2.16+ keeps a remnant; "
                    f"import from `{target}`", fix)

    def _from_import(self, node: cst.ImportFrom, raw: str, name: str, root: str, legacy: str | None) -> None:
        groups: dict[str, list[cst.ImportAlias]] = {}
        missing: list[str] = []
        notes: list[str] = []
        changed = False
        for alias in node.names:  # type: ignore[union-attr]
            if not isinstance(alias.name, cst.Name):
                groups.setdefault(raw, []).append(alias)
                continue
            imported = alias.name.value
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else imported
            sub = f"{name}.{imported}"
            if sub in legacy_modules() and canonical(sub) not in api.legacy_symbols():
                # `from keras.utils import np_utils`: a whole legacy module bound to a name
                modern = legacy_modules()[sub]
                parent, _, last = modern.rpartition(".")
                missing.extend(f"`{modern}.{a}`" for a in self._module_alias(sub, local))
                spelled_parent = _spelled(root, parent)
                renamed = alias.with_changes(
                    name=cst.Name(last),
                    asname=cst.AsName(name=cst.Name(local)) if local != last else None,
                )
                groups.setdefault(spelled_parent, []).append(renamed)
                notes.append(
                    f"`{_spelled(root, sub)}` does not exist in Keras 3; import `{_spelled(root, modern)}` under the name `{local}`"
                )
                changed = True
                continue
            if _removed_of(sub) is not None:
                self.report(node, "KF303", removed_modules()[_removed_of(sub)])
                return
            if legacy is None:
                groups.setdefault(raw, []).append(alias)
                continue
            where = home(legacy, imported)
            if where is None:
                missing.append(_missing(legacy, imported))
                continue
            groups.setdefault(_spelled(root, where), []).append(alias)
            changed = True
        if not changed and not missing:
            return
        heads = [f"`{raw}` does not exist in Keras 3"] if legacy is not None else []
        heads += notes
        head = "; ".join(heads)
        if missing:
            self.report(node, "KF303", f"{head}, and Keras 3 has no {', '.join(missing)}: rewrite the import by hand")
            return
        targets = [module for module in groups if module != raw]
        if legacy is not None and list(groups) == targets and len(groups) == 1 and not notes:
            target = targets[0]
            fix = make_fix("safe", f"Import from `{target}`", [self._replace(node.module, target)])
            self.report(node, "KF303", f"{head}; import from `{target}`", fix)
            return
        edit = self._split(node, groups)
        if legacy is not None:
            head += "; import from " + " and ".join(f"`{m}`" for m in targets if m != raw)
        fix = make_fix("safe", "Import the Keras 3 modules", [edit])
        self.report(node, "KF303", head, fix)

    def _replace(self, node: cst.CSTNode, text: str) -> Edit:
        start, end = self.ctx.span(node)
        return Edit(start, end, text)

    def _split(self, node: cst.ImportFrom, groups: dict[str, list[cst.ImportAlias]]) -> Edit:
        """One import statement per module, in place of `node`."""
        statements = []
        for module, aliases in groups.items():
            statements.append(
                node.with_changes(
                    module=cst.parse_expression(module),
                    names=_fixed_commas(node, aliases),
                    semicolon=cst.MaybeSentinel.DEFAULT,  # the span replaced ends before any `;`
                )
            )
        parent = self.ctx.parent(node)
        alone = isinstance(parent, cst.SimpleStatementLine) and len(parent.body) == 1
        separator = self.ctx.module.default_newline + "".join(self.ctx.indentation(node)) if alone else "; "
        codes = [self._render(statement, node) for statement in statements]
        start, end = self.ctx.span(node)
        return Edit(start, end, separator.join(code.strip() if index else code.rstrip() for index, code in enumerate(codes)))

    def _render(self, statement: cst.ImportFrom, original: cst.ImportFrom) -> str:
        """A statement's code with continuation lines at the indentation of the block `original` is in."""
        from libcst._nodes.internal import CodegenState

        module = self.ctx.module
        state = CodegenState(default_indent=self.ctx.default_indent, default_newline=module.default_newline)
        state.indent_tokens.extend(self.ctx.indentation(original))
        statement._codegen(state)
        return "".join(state.tokens)

    def leave_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import -= 1

    # -- plain imports

    def visit_Import(self, node: cst.Import) -> None:
        self._in_import += 1
        edits: list[Edit] = []
        messages: list[str] = []
        for alias in node.names:
            raw = dotted(alias.name)
            name = normalise_root(raw) if raw else None
            if raw is None or name is None:
                continue
            removed = _removed_of(name)
            if removed is not None:
                self.report(node, "KF303", removed_modules()[removed])
                return
            legacy = _legacy_of(name)
            if legacy is None and _private(raw) and api.exports(name) is not None:
                # `import tensorflow.python.keras.layers as L`: the public module of the same name
                target = _spelled(_root(raw), name)
                fix = make_fix("safe", f"Import `{target}`", [self._replace(alias.name, target)])
                self.report(alias, "KF304", f"`{raw}` is TensorFlow's private copy of Keras 2, of which TensorFlow 2.16+ keeps a remnant; import `{target}`", fix)
                continue
            if legacy is None or name != legacy:
                continue
            target = _spelled(_root(raw), legacy_modules()[legacy])
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                lacking = self._module_alias(legacy, alias.asname.name.value)
                if lacking:
                    listed = ", ".join(f"`{legacy_modules()[legacy]}.{a}`" for a in lacking)
                    self.report(node, "KF303", f"`{raw}` does not exist in Keras 3, and Keras 3 has no {listed}: rewrite the import by hand")
                    return
            edits.append(self._replace(alias.name, target))
            messages.append(f"`{raw}` does not exist in Keras 3; import `{target}`")
        if edits:
            self.report(node, "KF303", "; ".join(messages), make_fix("safe", "Import the Keras 3 module", edits))

    def leave_Import(self, node: cst.Import) -> None:
        self._in_import -= 1

    # -- spelled-out uses: `keras.layers.core.Dense`

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._in_import:
            return
        raw = self.ctx.imports.resolve(node)
        name = normalise_root(raw) if raw else None
        if name is None:
            return
        removed = _removed_of(name)
        if removed == name:
            self.report(node, "KF303", removed_modules()[removed])
            return
        if name not in legacy_modules() or canonical(name) in api.legacy_symbols():
            return
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            longer = normalise_root(self.ctx.imports.resolve(parent) or "")
            if longer in legacy_modules():
                return  # `keras.engine.topology`: the longer path is the legacy module
            member = parent.attr.value
        else:
            member = None
        modern = legacy_modules()[name]
        head = f"`{self.ctx.code_for(node)}` does not exist in Keras 3"
        if member is not None and not known(modern, member):
            self.report(node, "KF303", f"{head}, and `{modern}` has no `{member}`")
            return
        replacement = self._modern_spelling(node, name, modern)
        if replacement is None:
            self.report(node, "KF303", f"{head}; use `{modern}`")
            return
        fix = make_fix("safe", f"Use `{replacement}`", [self._realigned_call(node, replacement) or self._replace(node, replacement)])
        self.report(node, "KF303", f"{head}; use `{replacement}`", fix)

    def _realigned_call(self, node: cst.Attribute, replacement: str) -> Edit | None:
        """For `keras.engine.training.Model(a,\n    b)` with `b` aligned after the `(`: the whole call,
        its continuation lines moved with the `(`. None when no line needs to move."""
        from kerasfix.checks.callee import realigned
        from kerasfix.rule import replace_node

        member = self.ctx.parent(node)
        call = self.ctx.parent(member) if isinstance(member, cst.Attribute) and member.value is node else None
        if not (isinstance(call, cst.Call) and call.func is member):
            return None
        shift = len(replacement) - len(self.ctx.code_for(node))
        new = call.with_changes(func=member.with_changes(value=cst.parse_expression(replacement)))
        moved = realigned(self.ctx, call, new, shift)
        return None if moved is new else replace_node(self.ctx, call, moved)

    def _modern_spelling(self, node: cst.Attribute, legacy: str, modern: str) -> str | None:
        """`keras.layers.core` -> `keras.layers`, `tf.keras.engine.topology` -> `tf.keras.layers`."""
        legacy_parts, modern_parts = legacy.split("."), modern.split(".")
        common = 0
        while common < min(len(legacy_parts), len(modern_parts)) and legacy_parts[common] == modern_parts[common]:
            common += 1
        prefix = ".".join(legacy_parts[:common])
        current: cst.BaseExpression = node
        while isinstance(current, cst.Attribute):
            current = current.value
            resolved = self.ctx.imports.resolve(current)
            if resolved is not None and normalise_root(resolved) == prefix:
                rest = modern_parts[common:]
                return ".".join([self.ctx.code_for(current), *rest])
        return None


def _fixed_commas(original: cst.ImportFrom, aliases: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
    """Commas for a part of an import's names: between them, and after the last as the original had it.

    In parentheses each name keeps its own comma, so its trailing comment stays with it; the last one's
    line break is made to end like the original's last, so the `)` keeps its place.
    """
    original_last = original.names[-1].comma  # type: ignore[index]
    fixed = []
    for position, alias in enumerate(aliases):
        if position < len(aliases) - 1:
            if alias.comma is cst.MaybeSentinel.DEFAULT:
                alias = alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        elif not original.lpar or isinstance(original_last, cst.MaybeSentinel) or isinstance(alias.comma, cst.MaybeSentinel):
            alias = alias.with_changes(comma=original_last if original.lpar else cst.MaybeSentinel.DEFAULT)
        elif alias.comma is not original_last:
            alias = alias.with_changes(comma=_closing_like(alias.comma, original_last))
        fixed.append(alias)
    return fixed


def _closing_like(own: cst.Comma, last: cst.Comma) -> cst.Comma:
    """`own` (with its comment), ending its line the way `last` does before the closing parenthesis."""
    mine, theirs = own.whitespace_after, last.whitespace_after
    if isinstance(mine, cst.ParenthesizedWhitespace) and isinstance(theirs, cst.ParenthesizedWhitespace):
        return own.with_changes(whitespace_after=mine.with_changes(indent=theirs.indent, last_line=theirs.last_line))
    return last
