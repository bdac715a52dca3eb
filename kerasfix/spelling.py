"""How a fix spells a Keras symbol at a place in a file: the one function every fix asks.

`spell(ctx, "keras.layers.concatenate", node)` returns an expression that, written where `node`
stands, means that symbol, and the import it needs, trying in turn:

1. the callee's own module prefix (`KL.merge` -> `KL.concatenate`, `keras.engine.topology.merge`
   -> `keras.layers.concatenate`);
2. a name already bound to the symbol (`concatenate`, or an alias of it such as `cat`);
3. the bare name, imported, when nothing in the file binds it (no import, assignment, parameter,
   definition or unknown star import anywhere, and it is not a builtin);
4. a qualified spelling through a module the file already binds (`layers.concatenate`,
   `keras.layers.concatenate`, `tf.keras.layers.concatenate`);
5. an aliased import (`from keras.layers import concatenate as keras_concatenate`);

and None when none of these is sure, so the fix is not made. With `qualified=True` (module
functions such as `keras.ops.square`) the module is bound instead of the member: `ops.square` with
`from keras import ops`, or `keras.ops.square` with `import keras`.

`unresolved_writes` is the check after a fix: each name it wrote, read with the same resolver the
rules use on the fixed code, must mean the symbol it was written for.
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass

import libcst as cst

from kerasfix.findings import Requirement, Written
from kerasfix.names import canonical, dotted, normalise_root, style_of, styled_module, writable
from kerasfix.scopes import Scopes

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class Spelling:
    """An expression naming a Keras symbol at one place, and the imports it needs."""

    expression: cst.BaseExpression
    requires: tuple[Requirement, ...]
    symbol: str

    @property
    def text(self) -> str:
        return dotted(self.expression) or ""

    @property
    def written(self) -> Written:
        return Written(self.text, self.symbol)


def spell(
    ctx, symbol: str, at: cst.CSTNode, func: cst.BaseExpression | None = None, qualified: bool = False
) -> Spelling | None:
    """How to write `symbol` (canonical, `keras.layers.concatenate`) at `at`; `func` is the callee
    being replaced, whose own spelling is followed where it can be."""
    meaning = canonical(symbol) or symbol  # what the spelling must resolve to
    candidates: list[tuple[str, tuple[Requirement, ...]]] = []
    if "." not in symbol:  # the root module itself: `keras`, or whatever the file binds it as
        candidates.extend((name, ()) for name in _bound_names(ctx, meaning))
        candidates.append((symbol, (Requirement(symbol, None),)))
        return _first(ctx, candidates, meaning, at)
    module, short = symbol.rsplit(".", 1)  # where a new import takes it from
    if isinstance(func, cst.Attribute):
        candidates.extend((text, ()) for text in _through_callee(ctx, func, module, short))
    candidates.extend((name, ()) for name in _bound_names(ctx, meaning))
    if qualified:
        # `tf.keras.ops.sum` only when no Keras import can serve: it reads as TensorFlow code
        candidates.extend((text, ()) for text in _through_modules(ctx, symbol, through_tensorflow=False))
        parent, last = module.rsplit(".", 1) if "." in module else (None, module)
        if parent is not None:  # `ops.square` with `from keras import ops`
            candidates.append((f"{last}.{short}", (Requirement(parent, last),)))
        else:  # the symbol is a module itself (`keras.ops`): `ops` with `from keras import ops`
            candidates.append((short, (Requirement(module, short),)))
        if module.split(".")[0] == "keras":  # `keras.ops.square` with `import keras`
            candidates.append((symbol, (Requirement("keras", None),)))
        candidates.extend((text, ()) for text in _through_tensorflow(ctx, symbol))
        if parent is not None:
            alias = _free_alias(ctx, f"keras_{last}")
            if alias is not None:
                candidates.append((f"{alias}.{short}", (Requirement(parent, last, alias),)))
        else:
            alias = _free_alias(ctx, f"keras_{short}")
            if alias is not None:
                candidates.append((alias, (Requirement(module, short, alias),)))
    else:
        stars = ctx.imports.star_modules
        if any(normalise_root(star) == module for star in stars) and all(canonical(star + "._") for star in stars):
            candidates.append((short, ()))  # `from keras.layers import *` provides it
        candidates.append((short, (Requirement(module, short),)))
        candidates.extend((text, ()) for text in _through_modules(ctx, symbol))
        alias = _free_alias(ctx, f"keras_{short}")
        if alias is not None:
            candidates.append((alias, (Requirement(module, short, alias),)))
    return _first(ctx, candidates, meaning, at)


def _first(ctx, candidates: list[tuple[str, tuple[Requirement, ...]]], meaning: str, at: cst.CSTNode) -> Spelling | None:
    """The first candidate spelling that means the symbol at `at` (for the portable target, not one
    that reaches Keras through TensorFlow: `tf.keras.ops.sum`, `keras.ops.sum` with `from tensorflow
    import keras`)."""
    portable = ctx.target == "portable"
    for text, requires in candidates:
        if portable and not requires and _through_tensorflow_binding(ctx, text):
            continue
        if _means(ctx, text, meaning, at, requires):
            return Spelling(_expression(text), requires, meaning)
    return None


def _through_tensorflow_binding(ctx, text: str) -> bool:
    binding = ctx.imports.bindings.get(text.split(".")[0])
    return binding is not None and binding.raw.split(".")[0] == "tensorflow"


def _through_callee(ctx, func: cst.Attribute, module: str, short: str) -> list[str]:
    """`KL.concatenate` where `KL.merge` was called; `keras.layers.concatenate` where the callee
    spelled a legacy module from a root the file binds (`keras.engine.topology.merge`)."""
    found: list[str] = []
    base_raw = ctx.imports.resolve(func.value)
    base = dotted(func.value)
    if base_raw is None or base is None or not writable(base_raw):
        return found
    if normalise_root(base_raw) == module:
        found.append(f"{base}.{short}")
    head = base.split(".")[0]
    head_raw = ctx.imports.resolve(cst.Name(head))
    wanted = styled_module(module, style_of(base_raw))
    if head_raw is not None and (wanted == head_raw or wanted.startswith(head_raw + ".")):
        found.append(head + wanted[len(head_raw):] + "." + short)
    return found


def _bound_names(ctx, symbol: str) -> list[str]:
    """Names the file binds to exactly this symbol (whether they are seen at the place is checked
    afterwards)."""
    return sorted(
        (name for name, binding in ctx.imports.bindings.items() if canonical(binding.raw) == symbol),
        key=lambda name: (len(name), name),
    )


def _through_modules(ctx, symbol: str, through_tensorflow: bool = True) -> list[str]:
    """`symbol` spelled through each Keras module the file binds, shortest first; then, unless told
    not to, through TensorFlow (`tf.keras.layers...`)."""
    found: set[str] = set()
    through_tf: set[str] = set()
    for name, binding in ctx.imports.bindings.items():
        raw = binding.raw
        root = normalise_root(raw)
        if root is not None and writable(raw) and symbol.startswith(root + "."):
            found.add(name + symbol[len(root):])
        elif raw == "tensorflow":
            through_tf.add(f"{name}.{symbol}")
    order = lambda text: (text.count("."), len(text), text)  # noqa: E731
    return sorted(found, key=order) + (sorted(through_tf, key=order) if through_tensorflow else [])


def _through_tensorflow(ctx, symbol: str) -> list[str]:
    return [text for text in _through_modules(ctx, symbol) if text not in _through_modules(ctx, symbol, False)]


def _free_alias(ctx, stem: str) -> str | None:
    for number in range(1, 10):
        candidate = stem if number == 1 else f"{stem}_{number}"
        if name_is_free(ctx, candidate) or _free_after_stars(ctx, candidate):
            return candidate
    return None


def _free_after_stars(ctx, name: str) -> bool:
    """Whether an alias such as `keras_ops` can be imported in a file with another library's star import
    (`from rl.util import *`): the new import lands after every star import, so it is what the name means
    from there on, and the file neither uses nor binds the name, so whatever the star may have bound under
    it meant nothing to the program. Only for a whole file: a large file's parts share their imports."""
    table = ctx.imports
    if not table.star_modules or ctx.text != ctx.source.text:
        return False
    if name in _BUILTINS or keyword.iskeyword(name) or name in table.bindings or name in table.local_names:
        return False
    if name in file_scopes(ctx).anywhere or name in _bare_uses(ctx):
        return False
    from kerasfix.imports import _anchor_index, star_statement_indices

    body = list(ctx.module.body)
    stars = star_statement_indices(body)
    anchor = _anchor_index(body)
    return len(stars) == len(table.star_modules) and anchor is not None and all(index <= anchor for index in stars)


def _bare_uses(ctx) -> set[str]:
    from kerasfix.imports import _name_uses

    return ctx.cached("bare-name-uses", lambda: set(_name_uses(ctx.module)))


def name_is_free(ctx, name: str, symbol: str | None = None) -> bool:
    """Whether a new module-level import of `name` (meaning `symbol`) changes the meaning of nothing
    in the file: no scope binds it, it is not a builtin or keyword, and no star import may provide
    it (a Keras star import that provides it as the same symbol is no conflict)."""
    if name in _BUILTINS or keyword.iskeyword(name):
        return False
    table = ctx.imports
    if name in table.bindings or name in table.local_names or name in file_scopes(ctx).anywhere:
        return False
    from kerasfix import api

    for module in table.star_modules:
        modern = canonical(module + "._")
        if modern is None:
            return False  # another library's star import may bind anything
        if api.knows(modern[:-2], name) and canonical(f"{modern[:-2]}.{name}") != symbol:
            return False  # a Keras star import binds it to something else
    return True


def file_scopes(ctx) -> Scopes:
    """The file's scopes, found once per file when a fix first asks."""
    return ctx.cached("scopes", lambda: Scopes.of(ctx.module))


def resolve_at(ctx, text: str, at: cst.CSTNode, new: dict[str, str] | None = None) -> str | None:
    """The canonical Keras name a dotted `text` means where `at` stands, or None: looked up through
    the scopes around `at` (an import in an enclosing function counts, any other local binding
    hides the name), then the file's imports as the rules read them. `new` maps names about to be
    imported at module level to what they will mean."""
    head = text.split(".")[0]
    rest = text[len(head):]
    table = ctx.imports
    scopes = file_scopes(ctx)
    scope = scopes.binder(head, at, ctx.parent)
    if scope is not None:
        raw = scopes.imports.get(scope, {}).get(head)
        if raw is None or head in table.local_names:
            return None  # a local variable, parameter or definition
        return canonical(raw + rest)
    if new and head in new:
        return canonical(new[head] + rest)
    binding = table.bindings.get(head)
    if binding is not None and binding.nested and not binding.pending:
        return None  # imported inside some other function or class
    if head in scopes.module_names and binding is None and not table.star_modules:
        return None
    return table.qualified(_expression(text))


def _expression(text: str) -> cst.BaseExpression:
    """The expression for a dotted name (`keras.layers.Dense`), built directly: LibCST's expression parser
    costs milliseconds a call, and spelling asks for thousands of names in a large file."""
    parts = text.split(".")
    if not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return cst.parse_expression(text)
    expression: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        expression = cst.Attribute(value=expression, attr=cst.Name(part))
    return expression


def _means(ctx, text: str, symbol: str, at: cst.CSTNode, requires: tuple[Requirement, ...]) -> bool:
    """Whether `text` written at `at` resolves to `symbol`, once `requires` are imported."""
    new = {requirement.local: requirement.symbol for requirement in requires}
    aliases = {requirement.local for requirement in requires if requirement.asname is not None}
    if any(
        not name_is_free(ctx, name, canonical(meant)) and not (name in aliases and _free_after_stars(ctx, name))
        for name, meant in new.items()
    ):
        return False
    return resolve_at(ctx, text, at, new) == symbol


def unresolved_writes(ctx, regions: list[tuple[int, int, list[Written]]]) -> list[tuple[int, str]]:
    """For each region [start, end) of the fixed text (a fix's edits) and the names its fix wrote:
    the writes that do not resolve to their symbol there, as (region index, description)."""
    if not regions:
        return []
    wanted = {written.spelling for _, _, writes in regions for written in writes}
    chains: list[tuple[int, int, str, cst.BaseExpression]] = []
    spans = ctx.spans()
    from kerasfix.walk import walk

    def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        kind = type(node)
        if kind is cst.Name or kind is cst.Attribute:
            if type(parent) is cst.Attribute:
                return  # a prefix of a longer chain, or an attribute name
            text = dotted(node)
            if text in wanted:
                start, end = spans[node]
                chains.append((start, end, text, node))

    walk(ctx.module, enter)
    problems: list[tuple[int, str]] = []
    for index, (low, high, writes) in enumerate(regions):
        for written in writes:
            for start, end, text, node in chains:
                if text != written.spelling or start < low or end > high:
                    continue
                meant = resolve_at(ctx, text, node)
                if meant != written.symbol:
                    where = f"`{meant}`" if meant else "no Keras name"
                    problems.append((index, f"`{text}` was written for `{written.symbol}` but means {where} there"))
                    break
    return problems
