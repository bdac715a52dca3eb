"""The rule catalogue's data (`rules/*.toml`): each file read once per process and checked against its schema.

A `[[change]]` entry or a table with an unknown or misspelt key, a missing required key or a value of the
wrong type or form is an error naming the file, the entry (its number and code) and the key, so a typo in
the data can never silently turn a rule off. `kerasfix/checks/catalogue.py` interprets the entries.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class CatalogueError(ValueError):
    """Catalogue data that does not match its schema: one line per problem, each naming file, entry and key."""


# --- value kinds ------------------------------------------------------------------------------------


class Kind:
    """A type of value in the catalogue, named the way error messages and CONTRIBUTING.md name it.

    (Plain classes and uncompiled patterns: this module is imported on every run, even one that
    checks no Keras file, and dataclasses and compiled expressions would cost milliseconds there.)
    """

    __slots__ = ("name", "accepts", "form", "form_name", "choices", "python", "items", "fields", "record")

    def __init__(
        self,
        name: str,
        accepts: Callable[[Any], bool],
        form: str = "",  # a regular expression that strings (or a list's strings) must match
        form_name: str = "",  # how `form` is described: "a rule code such as KF315"
        choices: tuple[str, ...] = (),
        python: bool = False,  # a string that must be a Python expression
        items: Kind | None = None,  # a table's values, checked one by one
        fields: Record | None = None,  # a table with known keys
        record: Record | None = None,  # a list of tables with known keys
    ) -> None:
        self.name, self.accepts, self.form, self.form_name = name, accepts, form, form_name
        self.choices, self.python, self.items, self.fields, self.record = choices, python, items, fields, record


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


CODE_FORM = r"KF[1-5]\d\d"
_DOTTED = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+"
_IDENTIFIER = r"[A-Za-z_]\w*"

STRING = Kind("a string", _is_str)
BOOLEAN = Kind("true or false", lambda value: isinstance(value, bool))
STRINGS = Kind("a list of strings", _is_str_list)
TABLE = Kind("a table", _is_table)
STRING_TABLE = Kind("a table of strings", _is_table, items=STRING)
STRINGS_TABLE = Kind("a table of lists of strings", _is_table, items=STRINGS)
PYTHON = Kind("a string", _is_str, python=True)
PYTHON_TABLE = Kind("a table of Python expressions", _is_table, items=PYTHON)
PYTHON_TABLES = Kind("a table of tables of Python expressions", _is_table, items=PYTHON_TABLE)
CODE = Kind("a string", _is_str, form=CODE_FORM, form_name="a rule code such as KF315 (KF, a digit from 1 to 5, two digits)")
WORDS = Kind("a string", _is_str, form=r"[a-z0-9]+(-[a-z0-9]+)*", form_name="lower-case words joined by hyphens")
RULE_NAME = WORDS
VERSION = Kind("a string", _is_str, form=r"\d+(\.\d+)*", form_name="a version such as 3.0")
DOTTED_NAME = Kind("a string", _is_str, form=_DOTTED, form_name="a dotted name such as keras.layers.Conv2D")
DOTTED_NAMES = Kind("a list of strings", _is_str_list, form=_DOTTED, form_name="dotted names such as keras.layers.Conv2D")
IDENTIFIER = Kind("a string", _is_str, form=_IDENTIFIER, form_name="a Python identifier")
MODULE_NAME = Kind("a string", _is_str, form=r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", form_name="a module name such as keras.backend")
IDENTIFIERS = Kind("a list of strings", _is_str_list, form=_IDENTIFIER, form_name="Python identifiers")


def choice(*values: str) -> Kind:
    return Kind("a string", _is_str, choices=values)


FIX = choice("safe", "unsafe", "none")
FIX_SAFETY = choice("safe", "unsafe", "sometimes", "none")
TARGETS = ("tf.keras", "keras", "portable")  # `--target` (kerasfix/config.py): an import style, or portable


class Key:
    """One key a table may hold: its kind, one line saying what it is, and whether it must be there."""

    __slots__ = ("kind", "doc", "required")

    def __init__(self, kind: Kind, doc: str, required: bool = False) -> None:
        self.kind, self.doc, self.required = kind, doc, required


class Record:
    """A table with a fixed set of keys (a `[[change]]` entry, one of its examples)."""

    __slots__ = ("label", "keys")

    def __init__(self, label: str, keys: Mapping[str, Key]) -> None:
        self.label, self.keys = label, keys  # label: what one is called in messages ("change", "example")


def records(record: Record) -> Kind:
    return Kind("a list of tables", _is_list, record=record)


# --- the schema ---------------------------------------------------------------------------------------

EXAMPLE = Record(
    "example",
    {
        "before": Key(STRING, "a program the rule must flag (or, with `valid`, leave alone)", required=True),
        "after": Key(STRING, "what `kerasfix migrate` makes of `before`; leave it out when the rule reports without fixing"),
        "valid": Key(BOOLEAN, "true: `before` must give no finding of this rule (default false)"),
        "unsafe": Key(BOOLEAN, "true: `after` is the result with `--unsafe-fixes` (default false)"),
        "target": Key(choice(*TARGETS), "the import style new imports use, as `--target`; `portable` also rewrites model code off TensorFlow (default tf.keras)"),
    },
)

COMBINE = Record(
    "combine",
    {
        "into": Key(IDENTIFIER, "the argument the joined tuple becomes", required=True),
        "parts": Key(IDENTIFIERS, "the arguments joined, in order (at least two)", required=True),
    },
)

SYMBOLS_FROM = Record(
    "symbols_from",
    {
        "table": Key(IDENTIFIER, "a table file of `[function.NAME]` rows (`backend_ops`)", required=True),
        "module": Key(MODULE_NAME, "the module whose functions the rows are (`keras.backend`, `tensorflow`)", required=True),
    },
)
SYMBOLS_FROM_KIND = Kind("a table", _is_table, fields=SYMBOLS_FROM)

CHANGE = Record(
    "change",
    {
        "code": Key(CODE, "the rule code, unique across kerasfix; catalogue rules use KF3xx", required=True),
        "name": Key(RULE_NAME, "the rule's name, unique across kerasfix (`kerasfix rules` shows it)", required=True),
        "summary": Key(STRING, "one line saying what is wrong; the head of each finding unless `message` is given", required=True),
        "why": Key(STRING, "why the old code is a problem (\"Why is this bad?\" in `kerasfix explain`)", required=True),
        "examples": Key(records(EXAMPLE), "programs the rule must flag and fix, and must leave alone; run as tests", required=True),
        "what": Key(STRING, "what the rule does (\"What it does\"); written from the other keys when left out"),
        "removed_in": Key(VERSION, "the Keras version that removed or changed the API, such as \"3.0\""),
        "default": Key(BOOLEAN, "false: the rule runs only when selected (default true)"),
        "symbols": Key(DOTTED_NAMES, "the calls the entry matches, by canonical name (`keras.layers.Convolution2D`)"),
        "methods": Key(IDENTIFIERS, "method names the entry matches on any object, in files that import Keras"),
        "symbols_from": Key(
            SYMBOLS_FROM_KIND,
            "`{ table = \"backend_ops\", module = \"keras.backend\" }`: the entry also matches `module.NAME` for each row of "
            "the table that Keras 3 lacks (rows marked `still_in_keras3` are left out, and so are names another "
            "entry of the same file matches)",
        ),
        "positional": Key(IDENTIFIERS, "the old signature's positional parameters, so positional arguments get names"),
        "renames": Key(STRING_TABLE, "old keyword = new keyword"),
        "values": Key(PYTHON_TABLES, "per argument, old value = new value as Python source (`{ th = \"'channels_first'\" }`)"),
        "remove": Key(STRING_TABLE, "argument = the reason it is removed; the fix drops it"),
        "report": Key(STRING_TABLE, "argument = what to do about it; reported, never fixed"),
        "combine": Key(records(COMBINE), "arguments joined into one tuple argument: `{ into = \"kernel_size\", parts = [\"nb_row\", \"nb_col\"] }`"),
        "require": Key(PYTHON_TABLE, "argument = Python source of the value added where the call lacks it"),
        "replacement": Key(DOTTED_NAME, "the new callee's canonical name; needs `symbols`"),
        "replacement_method": Key(IDENTIFIER, "the new method name; needs `methods`"),
        "transform": Key(WORDS, "a Python transform (`@transform(\"name\")` in kerasfix/checks/) for what data cannot say"),
        "options": Key(TABLE, "settings the transform reads (`entry.options`); needs `transform`"),
        "fix": Key(FIX, "how safe the edits of this entry's data are: safe (default), unsafe, or none to report only"),
        "fix_safety": Key(FIX_SAFETY, "the fix safety `kerasfix rules` shows; `sometimes` when only some cases get a safe fix (default: `fix`)"),
        "fix_note": Key(STRING, "a sentence added to \"Fix safety\" in `kerasfix explain`"),
        "message": Key(STRING, "the head of each finding, instead of `summary`"),
    },
)

# The tables a file may hold besides `[[change]]`, per file. A file not named here holds only changes.
_SIGNATURES = Kind(
    "a table of lists of strings, and `aliases`, a table of strings",
    lambda value: _is_table(value)
    and all(isinstance(v, dict) and all(map(_is_str, v.values())) if k == "aliases" else _is_str_list(v) for k, v in value.items()),
)
_LEGACY = Record("legacy", {"symbols": Key(DOTTED_NAMES, "legacy names some rule knows about")})
_VALIDITY = Record(
    "validity",
    {
        "swallowing": Key(DOTTED_NAMES, "classes whose `**kwargs` take any argument"),
        "open_optimizers": Key(DOTTED_NAMES, "optimizers that take arguments beyond their own"),
        "popped": Key(STRINGS_TABLE, "argument = the classes that take it through `**kwargs`"),
        "forwarded": Key(STRINGS_TABLE, "argument = the classes that pass it on through `**kwargs`"),
    },
)

# A Keras 2 backend function and its Keras 3 replacement (rules/backend_ops.toml, read by KF376), or a
# TensorFlow function and its portable Keras 3 replacement (rules/tf_ops.toml).
_FUNCTION = Record(
    "function",
    {
        "params": Key(IDENTIFIERS, "the Keras 2 parameters in positional order", required=True),
        "to": Key(DOTTED_NAME, "the Keras 3 callable that replaces the function"),
        "template": Key(STRING, "the replacement as an expression: `{ops}`, `{random}`, `{config}`, `{keras}` and `{param}`"),
        "none": Key(STRING, "no Keras 3 replacement: what to do instead; reported, never fixed"),
        "still_in_keras3": Key(BOOLEAN, "true: Keras 3's keras.backend still has the function; not reported"),
        "rename": Key(STRING_TABLE, "Keras 2 parameter = Keras 3 parameter, where they differ; needs `to`"),
        "drop": Key(STRING_TABLE, "Keras 2 parameter = why leaving it out keeps the meaning"),
        "keyword_only": Key(IDENTIFIERS, "Keras 2 parameters passed by keyword, as their Keras 3 position differs; needs `to`"),
        "defaults": Key(PYTHON_TABLE, "Keras 2 parameter = its Keras 2 default as Python source, written in where a call leaves it out (Keras 3's default differs); needs `to`"),
        "fix": Key(choice("safe", "unsafe"), "safe when the replacement means the same, unsafe when it may not"),
        "note": Key(STRING, "for an unsafe fix: what differs, in one sentence"),
    },
)
_FUNCTIONS = Kind("a table of tables", _is_table, items=Kind("a table", _is_table, fields=_FUNCTION))
# TensorFlow dtype constants and the Keras dtype names that replace them (rules/tf_ops.toml).
_DTYPES = Kind(
    "a table of strings",
    _is_table,
    items=Kind("a string", _is_str, form=r"[a-z]+\d*", form_name="a Keras dtype name such as float32"),
)
# A function that hands a program Keras's modules (rules/names.toml `providers`, read by kerasfix/names.py).
_PROVIDER = Record(
    "provider",
    {
        "returns": Key(DOTTED_NAMES, "the Keras modules the function returns, in order", required=True),
        "modules": Key(
            Kind("a list of strings", _is_str_list, form=MODULE_NAME.form, form_name="module names such as keras_applications"),
            "the modules the function is imported from",
        ),
        "parameters": Key(
            Kind("a table of tables of strings", _is_table, items=STRING_TABLE),
            "functions defined beside it that take a module as an argument: function = { parameter = module }",
        ),
    },
)
TABLE_FILES: dict[str, dict[str, Key]] = {
    "names": {
        "roots": Key(STRING_TABLE, "module roots that mean Keras (`tensorflow.keras = \"keras\"`)", required=True),
        "modules": Key(STRING_TABLE, "legacy module = the module its names live in now", required=True),
        "symbols": Key(STRING_TABLE, "legacy name = its canonical name", required=True),
        "legacy": Key(Kind("a table", _is_table, fields=_LEGACY), "legacy names some rule knows about"),
        "providers": Key(
            Kind("a table of tables", _is_table, items=Kind("a table", _is_table, fields=_PROVIDER)),
            "functions that return Keras modules: name = what they return and where they come from",
        ),
    },
    "classes": {
        "keras1_signatures": Key(_SIGNATURES, "Keras 1 positional parameters per class, and `aliases` of those classes"),
    },
    "keras3": {
        "validity": Key(Kind("a table", _is_table, fields=_VALIDITY), "what KF302 needs to know about arguments taken through `**kwargs`"),
        "removed_modules": Key(STRING_TABLE, "module removed in Keras 3 = what to use instead"),
    },
    "backend_ops": {
        "function": Key(_FUNCTIONS, "Keras 2 backend function name = its Keras 3 replacement", required=True),
    },
    "tf_ops": {
        "function": Key(_FUNCTIONS, "TensorFlow function name without `tf.` (`math.reduce_sum`) = its Keras 3 replacement", required=True),
        "dtype": Key(_DTYPES, "TensorFlow dtype constant without `tf.` (`float32`) = the Keras dtype name that replaces it"),
        "dtype_none": Key(STRING_TABLE, "TensorFlow dtype constant with no portable Keras dtype = what to do instead"),
    },
}
NOT_CHANGES = frozenset({"names", "backend_ops", "tf_ops"})  # files that hold tables only


def _signature_aliases(table: Mapping[str, Any]) -> Iterator[str]:
    for alias, name in table.get("aliases", {}).items():
        if name not in table or name == "aliases":
            yield f"'keras1_signatures.aliases.{alias}' names no signature: {name!r}"


TEMPLATE_MODULES = ("ops", "random", "config", "keras")  # what a template's `{ops}` ... stand for


def _function_problems(table: Mapping[str, Any]) -> Iterator[str]:
    """What a backend function's keys say together: one kind of replacement, and names it knows."""
    import string  # only for the backend table, read by one rule

    for name, item in table.items():
        where = f"'function.{name}'"
        if not re.fullmatch(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*", name):
            yield f"{where}: the name must be a Python identifier (or dotted identifiers)"
        kinds = [key for key in ("to", "template", "none", "still_in_keras3") if key in item]
        if len(kinds) != 1:
            yield f"{where} needs exactly one of 'to', 'template', 'none', 'still_in_keras3', not {kinds or 'none of them'}"
        if item.get("still_in_keras3") is False:
            yield f"{where}: 'still_in_keras3' is true or left out"
        if ("fix" in item) == ("none" in item):
            yield f"{where}: {'a report-only function has no' if 'none' in item else 'needs'} 'fix'"
        if ("note" in item) != (item.get("fix") == "unsafe"):
            yield f"{where}: 'note' is for an unsafe fix, and an unsafe fix needs one"
        for key in ("rename", "keyword_only", "defaults"):
            if key in item and "to" not in item:
                yield f"{where}: '{key}' needs 'to'"
        if "drop" in item and not ("to" in item or "template" in item):
            yield f"{where}: 'drop' needs 'to' or 'template'"
        params = set(item["params"])
        for key in ("rename", "drop", "keyword_only", "defaults"):
            for param in item.get(key, ()):
                if param not in params:
                    yield f"{where}: '{key}' names {param!r}, which is not in 'params'"
        for new in item.get("rename", {}).values():
            if not re.fullmatch(_IDENTIFIER, new):
                yield f"{where}: 'rename' must map to Python identifiers, not {new!r}"
        template = item.get("template")
        if isinstance(template, str):
            try:
                fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
                unknown = sorted(fields - params - set(TEMPLATE_MODULES))
                if unknown:
                    yield f"{where}: 'template' uses {unknown}, neither parameters nor {', '.join(TEMPLATE_MODULES)}"
                else:
                    compile(template.format(**{field: field for field in fields}), "<catalogue>", "eval")
            except (ValueError, SyntaxError):
                yield f"{where}: 'template' must be a Python expression once its placeholders are filled, not {template!r}"


_TABLE_CHECKS: dict[str, Callable[[Any], Iterator[str]]] = {
    "keras1_signatures": _signature_aliases,
    "function": _function_problems,
}


# --- validation -----------------------------------------------------------------------------------


def display(path: Path) -> str:
    """A path as messages show it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        odd = next((item for item in value if not isinstance(item, str)), None)
        return "a list" if odd is None else f"a list holding {_describe(odd)}"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _suggest(name: str, known: Collection[str]) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _value_problems(value: Any, kind: Kind, key: str) -> Iterator[str]:
    if not kind.accepts(value):
        yield f"'{key}' must be {kind.name}, not {_describe(value)}"
        return
    if kind.choices and value not in kind.choices:
        listed = ", ".join(kind.choices)
        yield f"'{key}' must be one of {listed}, not {value!r}"
    if kind.form:
        for text in value if isinstance(value, list) else [value]:
            if not re.fullmatch(kind.form, text):
                yield f"'{key}' must be {kind.form_name}, not {text!r}"
    if kind.python:
        try:
            compile(value, "<catalogue>", "eval")
        except SyntaxError:
            yield f"'{key}' must be a Python expression, not {value!r}"
    if kind.items is not None:
        for name, item in value.items():
            yield from _value_problems(item, kind.items, f"{key}.{name}")
    if kind.fields is not None:
        yield from _record_problems(value, kind.fields, prefix=f"{key}.")
    if kind.record is not None:
        for number, item in enumerate(value, 1):
            label = f"{kind.record.label} #{number}"
            if not isinstance(item, dict):
                yield f"{label}: must be a table, not {_describe(item)}"
                continue
            yield from (f"{label}: {problem}" for problem in _record_problems(item, kind.record))


def _record_problems(item: Mapping[str, Any], record: Record, prefix: str = "") -> Iterator[str]:
    for key in item:
        if key not in record.keys:
            yield f"unknown key '{prefix}{key}'{_suggest(key, record.keys)}"
    for key, spec in record.keys.items():
        if key not in item:
            if spec.required:
                yield f"missing required key '{prefix}{key}'"
            continue
        yield from _value_problems(item[key], spec.kind, prefix + key)


def _change_problems(item: Mapping[str, Any]) -> Iterator[str]:
    """The schema's keys, then what the keys say together."""
    yield from _record_problems(item, CHANGE)
    if not item.get("symbols") and not item.get("methods") and not item.get("symbols_from"):
        yield "needs 'symbols' or 'methods': an entry that matches no call never reports"
    if "replacement" in item and not item.get("symbols"):
        yield "'replacement' needs 'symbols'"
    if "replacement_method" in item and not item.get("methods"):
        yield "'replacement_method' needs 'methods'"
    if "options" in item and "transform" not in item:
        yield "'options' are read by a transform: it needs 'transform'"
    examples = item.get("examples")
    if isinstance(examples, list) and not any(isinstance(e, dict) and not e.get("valid", False) for e in examples):
        yield "'examples' needs at least one example the rule flags (not `valid = true`)"
    for number, combined in enumerate(item.get("combine", []) if isinstance(item.get("combine"), list) else [], 1):
        if isinstance(combined, dict) and _is_str_list(combined.get("parts")) and len(combined["parts"]) < 2:
            yield f"combine #{number}: 'parts' must name at least two arguments"
    for number, example in enumerate(examples if isinstance(examples, list) else [], 1):
        if isinstance(example, dict) and example.get("valid") and ("after" in example or "unsafe" in example):
            yield f"example #{number}: a valid example has no 'after' or 'unsafe'"


def _entry_label(number: int, item: Any) -> str:
    code = item.get("code") if isinstance(item, dict) else None
    return f"change #{number} ({code})" if isinstance(code, str) else f"change #{number}"


def problems(data: Mapping[str, Any], stem: str, label: str) -> list[str]:
    """Every way one file's data breaks the schema, each line starting with `label` (the file's name)."""
    found: list[str] = []
    tables = TABLE_FILES.get(stem, {})
    allowed = dict(tables)
    if stem not in NOT_CHANGES:
        allowed["change"] = Key(Kind("an array of tables ([[change]])", _is_list), "")
    for key in data:
        if key not in allowed:
            found.append(f"{label}: unknown table '{key}'{_suggest(key, allowed)}")
    for key, spec in tables.items():
        if key not in data:
            if spec.required:
                found.append(f"{label}: missing required table '{key}'")
            continue
        checked = list(_value_problems(data[key], spec.kind, key))
        if not checked and key in _TABLE_CHECKS:
            checked = list(_TABLE_CHECKS[key](data[key]))
        found.extend(f"{label}: {problem}" for problem in checked)
    changes = data.get("change", []) if stem not in NOT_CHANGES else []
    if not isinstance(changes, list):
        return found + [f"{label}: 'change' must be an array of tables ([[change]]), not {_describe(changes)}"]
    seen: dict[str, int] = {}
    for number, item in enumerate(changes, 1):
        where = f"{label}: {_entry_label(number, item)}"
        if not isinstance(item, dict):
            found.append(f"{where}: must be a table, not {_describe(item)}")
            continue
        found.extend(f"{where}: {problem}" for problem in _change_problems(item))
        code = item.get("code")
        if isinstance(code, str):
            if code in seen:
                found.append(f"{where}: duplicate code {code} (also change #{seen[code]})")
            seen.setdefault(code, number)
    return found


def read(path: Path) -> dict[str, Any]:
    """One catalogue file, parsed and validated; CatalogueError when it breaks its schema."""
    label = display(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{label}: not valid TOML: {error}") from None
    found = problems(data, path.stem, label)
    if found:
        raise CatalogueError("\n".join(found))
    return data


def validate(
    directory: Path, transforms: Collection[str] | None = None, reader: Callable[[Path], dict[str, Any]] = read
) -> dict[str, dict[str, Any]]:
    """Every file of a catalogue directory, each valid (as `reader` reads it) and all together: codes and
    names unique across files, and (given the registered transform names) every `transform` one that exists."""
    loaded: dict[str, dict[str, Any]] = {}
    found: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            loaded[path.stem] = reader(path)
        except CatalogueError as error:
            found.append(str(error))
    found.extend(_across_files(directory, loaded, transforms))
    if found:
        raise CatalogueError("\n".join(found))
    return loaded


def _across_files(directory: Path, loaded: Mapping[str, Mapping[str, Any]], transforms: Collection[str] | None) -> Iterator[str]:
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for stem, data in loaded.items():
        label = display(directory / f"{stem}.toml")
        for number, item in enumerate(data.get("change", []) if stem not in NOT_CHANGES else [], 1):
            where = f"{label}: {_entry_label(number, item)}"
            code, name = item["code"], item["name"]
            if code in codes and not codes[code].startswith(f"{label}: "):
                yield f"{where}: duplicate code {code} (also {codes[code]})"
            codes.setdefault(code, where)
            if name in names:
                yield f"{where}: duplicate name '{name}' (also {names[name]})"
            names.setdefault(name, where)
            transform = item.get("transform")
            if transforms is not None and transform is not None and transform not in transforms:
                yield f"{where}: unknown transform '{transform}'{_suggest(transform, transforms)}"


# --- the shipped catalogue --------------------------------------------------------------------------


def catalogue_dir() -> Path:
    """Where the catalogue lives: `kerasfix/rules` in an installed wheel, `rules/` in a checkout."""
    try:
        import kerasfix.rules as installed  # type: ignore[import-not-found]

        if installed.__file__:
            return Path(installed.__file__).parent
    except ImportError:
        pass
    return Path(__file__).resolve().parent.parent / "rules"


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """One catalogue file, by stem (`names` reads `rules/names.toml`), validated against its schema, with
    each entry's `symbols_from` table read into its `symbols`."""
    return expanded(read(catalogue_dir() / f"{name}.toml"), load)


def expanded(data: dict[str, Any], loader: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """`data` with the symbols each entry takes from a table (`symbols_from`) added to its `symbols`:
    one per row that Keras 3 lacks, less the symbols the file's other entries match."""
    changes = data.get("change")
    if not isinstance(changes, list) or not any(isinstance(c, dict) and "symbols_from" in c for c in changes):
        return data
    claimed = {symbol for change in changes if "symbols_from" not in change for symbol in change.get("symbols", [])}
    new_changes = []
    for change in changes:
        if "symbols_from" in change:
            source = change["symbols_from"]
            rows = loader(source["table"]).get("function", {})
            own = list(change.get("symbols", []))
            own += [
                f"{source['module']}.{name}"
                for name, row in rows.items()
                if not row.get("still_in_keras3") and f"{source['module']}.{name}" not in claimed and f"{source['module']}.{name}" not in own
            ]
            change = dict(change, symbols=own)
        new_changes.append(change)
    return dict(data, change=new_changes)


def check_catalogue(transforms: Collection[str]) -> None:
    """The whole shipped catalogue: each file (as `load` checks it), codes and names unique across files,
    and every `transform` among the registered ones. Raises CatalogueError."""
    validate(catalogue_dir(), transforms, lambda path: load(path.stem))


@functools.lru_cache(maxsize=None)
def fingerprint() -> str:
    """A hash of every catalogue file, so caches notice when the catalogue changes."""
    digest = hashlib.sha256()
    for path in sorted(catalogue_dir().glob("*.toml")) + sorted(catalogue_dir().glob("*.json")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]

