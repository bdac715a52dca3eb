"""Can this text hold any finding? A cheap test on the text, so that most files are never parsed.

Every rule sees Keras through the file's imports (`kerasfix/names.py`): a name is Keras only when an
import binds it under a root of `rules/names.toml` (`keras`, `tensorflow.keras`, `tf_keras`, ...) and
outside the private `keras.src`, or binds a prefix of a root (`import tensorflow as tf`) that the code
extends by attribute (`tf.keras`); the import rules (KF301, KF303) read such import paths themselves.
A file with none of these cannot have a finding, whatever rules are enabled, and is not parsed.

The test over-approximates, never the other way: text that only looks like such an import counts,
unless Python's own parser (much cheaper than LibCST's) shows that it is not a statement (an example
in a docstring); an import it cannot read counts. It never imports LibCST. tests/test_prefilter.py
proves it on generated imports, the fixtures, every rule's examples and the installed Keras and
TensorFlow sources.
"""

from __future__ import annotations

import functools
import os
import re

# Off only to prove that the prefilter loses nothing (tests/test_prefilter.py) and to measure it.
ENABLED = os.environ.get("KERASFIX_PREFILTER", "1") != "0"

NONE, PREFIX, PUBLIC = 0, 1, 2  # what an import binds: nothing Keras, a root's prefix, a Keras name


def _ascii_word_or_non_ascii(extra: str = "") -> str:
    """A character class of ASCII letters, digits, `_`, `extra` and every non-ASCII character: a superset of
    identifier characters (a combining mark never ends a name here). Spelled as a negated ASCII class,
    which `re` compiles in microseconds where `[\\u0080-\\U0010ffff]` takes milliseconds."""
    excluded = (chr(c) for c in range(128) if not (chr(c).isalnum() or chr(c) == "_" or chr(c) in extra))
    return "[^" + "".join(f"\\x{ord(c):02x}" for c in excluded) + "]"


_NAME_CHAR = _ascii_word_or_non_ascii()
_NAME = _NAME_CHAR + "+"
_WS = r"(?:[ \t\f\v\ufeff]|\\(?:\r\n|\r|\n))"  # between tokens of one logical line
_BLANKS = " \t\f\v\ufeff"
# Patterns start with the keyword, so `re` finds candidates with a fast literal search.
_FROM_RE = re.compile(rf"from{_WS}+(?P<module>{_NAME}(?:{_WS}*\.{_WS}*{_NAME})*){_WS}*import(?!{_NAME_CHAR})")
_LIST_CHAR = _ascii_word_or_non_ascii("., \t\f\v")  # what `import a.b as c, d` is made of
_IMPORT_RE = re.compile(rf"import{_WS}+(?P<names>(?:{_LIST_CHAR}|\\(?:\r\n|\r|\n))*)")
# What follows `from M import`: a parenthesised list (its comments may hold `)`), or the logical line.
_PAREN_RE = re.compile(rf"{_WS}*\((?P<names>(?:[^)#]|#[^\r\n]*)*)\)")
_LINE_RE = re.compile(r"(?P<names>(?:[^\r\n;#\\]|\\(?:\r\n|\r|\n))*)")
_SPACE_RE = re.compile(rf"{_WS}+")
_WORD_RE = re.compile(_NAME)


@functools.lru_cache(maxsize=1)
def _roots() -> tuple[tuple[str, str], ...]:
    """(root, what it stands for), longest first, as `names.normalise_root` reads them."""
    from kerasfix import ruledata

    roots = dict(ruledata.load("names")["roots"])
    roots.setdefault("keras", "keras")
    return tuple(sorted(roots.items(), key=lambda item: -len(item[0])))


@functools.lru_cache(maxsize=1)
def _needle() -> str | None:
    """A word that every Keras name's spelling contains (`keras`), if the roots share one."""
    return "keras" if all("keras" in root for root, _ in _roots()) else None


@functools.lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    return frozenset(root.split(".")[0] for root, _ in _roots())


@functools.lru_cache(maxsize=1)
def _attribute_re() -> re.Pattern:
    """`.keras` as an attribute (a prefix binding reaches a root only through it); in brackets the
    dot and the name may be on different lines with comments between."""
    last = sorted({root.rsplit(".", 1)[1] for root, _ in _roots() if "." in root})
    return re.compile(rf"\.(?:[\s\\]|#[^\r\n]*)*(?:{'|'.join(map(re.escape, last))})(?!{_NAME_CHAR})")


def _public(name: str) -> bool:
    """Whether a dotted name is a public Keras name (`names.normalise_root` gives one)."""
    for root, replacement in _roots():
        if name == root or name.startswith(root + "."):
            name = replacement + name[len(root):]
            break
    if name != "keras" and not name.startswith("keras."):
        return False
    return not (name == "keras.src" or name.startswith("keras.src."))


@functools.lru_cache(maxsize=4096)
def kind(name: str) -> int:
    """What binding `name` gives: PUBLIC (a Keras name), PREFIX (of a root, like `tensorflow`) or NONE."""
    if _public(name):
        return PUBLIC
    if any(root.startswith(name + ".") for root, _ in _roots()):
        return PREFIX
    return NONE


def _dotted(text: str) -> str:
    return _SPACE_RE.sub("", text)


def _plain_import(names: str) -> int:
    """`import a.b as c, d.e`: binds `c` to `a.b`, and `d` to `d`; rules also read the paths themselves."""
    found = NONE
    for item in names.split(","):
        parts = [part for part in _SPACE_RE.split(item) if part]
        if len(parts) >= 3 and parts[-2] == "as":
            found = max(found, kind(_dotted("".join(parts[:-2]))))
        elif parts:
            path = _dotted("".join(parts))
            found = max(found, kind(path), kind(path.split(".")[0]))
    return found


def _from_import(text: str, match: re.Match) -> int:
    """`from M import a, b as c` binds `M.a` and `M.b`; `from M import *` binds what M exports."""
    module = _dotted(match.group("module"))
    if module.split(".")[0] not in _first_words():
        return NONE
    if _public(module):
        return PUBLIC
    if kind(module) != PREFIX:
        return NONE  # `from keras.src.layers import Dense`, `from tensorflow.python.ops import math_ops`
    rest = _PAREN_RE.match(text, match.end()) or _LINE_RE.match(text, match.end())
    return max((kind(f"{module}.{word}") for word in _WORD_RE.findall(rest.group("names"))), default=NONE)


NOT_START, NESTED, LINE_START = 0, 1, 2  # where a keyword stands


def _statement_start(text: str, index: int) -> int:
    """Whether a keyword at `index` may begin a statement: LINE_START (at column 0), NESTED (indented,
    on a continuation line, or after `;` or a compound statement's `:`), or NOT_START. Over-approximates."""
    if index == 0 or text[index - 1] in "\r\n":
        return LINE_START
    index -= 1
    while index >= 0 and text[index] in _BLANKS:
        index -= 1
    return NESTED if index < 0 or text[index] in "\r\n;:" else NOT_START


def _imports(text: str) -> tuple[int, bool]:
    """The most Keras any import statement in the text binds, and whether that is certain enough
    without a real parse (a Keras import at column 0, or one spelled with non-ASCII characters).

    Every occurrence of a keyword is tried, overlapping ones too, so text that only looks like an
    import cannot hide a real one."""
    found, certain = NONE, False
    first = _first_words()
    for pattern in (_FROM_RE, _IMPORT_RE):
        position = 0
        while not certain:
            match = pattern.search(text, position)
            if match is None:
                break
            position = match.start() + 1
            if pattern is _IMPORT_RE and not any(word in match.group("names") for word in first):
                continue
            where = _statement_start(text, match.start())
            if where == NOT_START:
                continue
            binds = _from_import(text, match) if pattern is _FROM_RE else _plain_import(match.group("names"))
            found = max(found, binds)
            certain = binds == PUBLIC and (where == LINE_START or not match.group(0).isascii())
    return found, certain


def _parsed_imports(text: str) -> int | None:
    """The most Keras the file's real import statements bind, read with Python's own parser (fast: no
    concrete syntax tree); None when Python cannot parse the file. Only asked for ASCII spellings, which
    Python's NFKC normalisation of names leaves as they are."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `"\d"` and the like warn on Python 3.12+; not ours to say
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = NONE
    bodies = [tree.body]
    while bodies and found != PUBLIC:
        for statement in bodies.pop():
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    paths = (alias.name,) if alias.asname else (alias.name, alias.name.split(".")[0])
                    found = max([found, *map(kind, paths)])
            elif isinstance(statement, ast.ImportFrom):
                if statement.level or not statement.module:
                    continue
                if _public(statement.module):
                    found = PUBLIC
                elif kind(statement.module) == PREFIX:
                    found = max([found, *(kind(f"{statement.module}.{alias.name}") for alias in statement.names)])
            else:
                for value in vars(statement).values():  # nested statement lists: bodies, handlers, cases
                    if not isinstance(value, list) or not value:
                        continue
                    if isinstance(value[0], ast.stmt):
                        bodies.append(value)
                    else:
                        bodies.extend(item.body for item in value if isinstance(getattr(item, "body", None), list))
    return found


@functools.lru_cache(maxsize=1)
def provider_words() -> tuple[str, ...]:
    """The functions that hand a program Keras's modules (rules/names.toml `providers`, keras_applications'
    `get_submodules_from_kwargs`): a file that names one may use Keras without importing it."""
    from kerasfix import ruledata

    return tuple(sorted(ruledata.load("names").get("providers", {})))


def imports_public_keras(text: str) -> bool:
    """Whether the text may bind a public Keras name through its imports (see the module docstring), or
    through a function that returns Keras's modules."""
    if any(word in text for word in provider_words()):
        return True
    needle = _needle()
    if needle is not None and needle not in text:
        return False  # no spelling of a Keras name lacks this word
    found, certain = _imports(text)
    if found == PUBLIC and not certain:
        # Only indented: real imports in functions, or examples in docstrings. Ask Python's parser.
        parsed = _parsed_imports(text)
        found = PUBLIC if parsed is None else parsed
    if found == PREFIX:
        return _attribute_re().search(text) is not None
    return found == PUBLIC


def may_hold_findings(text: str, tokens: tuple[str, ...]) -> bool:
    """Whether any enabled checker can find anything: Keras imported, and one of their tokens present."""
    if not ENABLED:
        return True
    return imports_public_keras(text) and any(token in text for token in tokens)
