"""`[tool.kerasfix]` from the nearest pyproject.toml: select/ignore/exclude/per-file-ignores/target."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from kerasfix import registry
from kerasfix.ruledata import tomllib

TARGETS = ("tf.keras", "keras", "portable")  # portable: keras imports, and model code rewritten off TensorFlow (KF5xx)
KNOWN_KEYS = {
    "select": list,
    "extend-select": list,
    "ignore": list,
    "exclude": list,
    "extend-exclude": list,
    "per-file-ignores": dict,
    "target": str,
    "unsafe-fixes": bool,
    "respect-gitignore": bool,
}


class ConfigError(Exception):
    """A configuration the user must correct; the message names the file and the key."""


@dataclass
class Config:
    root: Path  # the directory patterns are relative to
    path: Path | None = None
    select: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    target: str = "tf.keras"
    unsafe_fixes: bool = False
    respect_gitignore: bool = True

    def hash_key(self) -> str:
        return repr((self.select, self.extend_select, self.ignore, sorted(self.per_file_ignores.items()), self.target))


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a `[tool.kerasfix]` table.

    A pyproject.toml on the way that cannot be read or is not valid TOML is an error: skipping it
    would drop the settings it may hold without a word.
    """
    directory = Path(os.path.realpath(start))  # realpath, unlike resolve(), does not raise on a link loop
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            tool = _read_toml(path).get("tool", {})
            if isinstance(tool, dict) and "kerasfix" in tool:
                return path
    return None


def _read_toml(path: Path) -> dict:
    """The TOML document in `path`; ConfigError naming the file, and line and column, when it is not one."""
    try:
        with path.open("rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(f"{path}:{line}:{column}: invalid TOML: the file is not UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        line, column, message = _toml_position(error, raw.decode("utf-8"))
        raise ConfigError(f"{path}:{line}:{column}: invalid TOML: {message}") from None


def _toml_position(error: Exception, text: str) -> tuple[int, int, str]:
    """Line, column and message of a TOML error (tomllib states them in the message before Python 3.14)."""
    message = str(error.args[0] if error.args else error)
    if getattr(error, "lineno", None) and getattr(error, "colno", None):
        return error.lineno, error.colno, getattr(error, "msg", message)  # type: ignore[attr-defined]
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is not None:
        return int(found.group(1)), int(found.group(2)), message[: found.start()]
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1, message


def load_config(path: Path | None, fallback_root: Path) -> Config:
    if path is None:
        return Config(root=fallback_root.resolve())
    data = _read_toml(path)
    tool = data.get("tool", {})
    table = tool.get("kerasfix", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.kerasfix] must be a table")
    config = Config(root=path.parent.resolve(), path=path)
    for key, value in table.items():
        expected = KNOWN_KEYS.get(key)
        if expected is None:
            known = ", ".join(sorted(KNOWN_KEYS))
            raise ConfigError(f"{path}: unknown key `{key}` in [tool.kerasfix] (known keys: {known})")
        if not isinstance(value, expected):
            raise ConfigError(f"{path}: `{key}` in [tool.kerasfix] must be a {expected.__name__}, not {type(value).__name__}")
        setattr(config, key.replace("-", "_"), value)
    validate(config, str(path))
    return config


def validate(config: Config, where: str) -> None:
    for key in ("select", "extend_select", "ignore", "exclude", "extend_exclude"):
        values = getattr(config, key)
        if not all(isinstance(value, str) for value in values):
            raise ConfigError(f"{where}: `{key.replace('_', '-')}` must be a list of strings")
    for key in ("select", "extend_select", "ignore"):
        for selector in getattr(config, key):
            _check_selector(selector, where, key.replace("_", "-"))
    for pattern, codes in config.per_file_ignores.items():
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise ConfigError(f"{where}: per-file-ignores for {pattern!r} must be a list of rule codes")
        for code in codes:
            _check_selector(code, where, f"per-file-ignores[{pattern!r}]")
    if config.target not in TARGETS:
        raise ConfigError(f"{where}: `target` must be one of {', '.join(TARGETS)}, not {config.target!r}")


def _check_selector(selector: str, where: str, key: str) -> None:
    try:
        registry.expand(selector)
    except ValueError as error:
        raise ConfigError(f"{where}: {key}: {error}") from None
