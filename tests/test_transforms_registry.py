"""Every transform the catalogue names is registered, every registered one is used, and every module's
registry reaches `kerasfix.checks.transforms.TRANSFORMS` (a transform module left out of it fails here,
not on every file a user checks)."""

from __future__ import annotations

import ast
import importlib
import sys

import pytest

from conftest import ROOT
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.checks.transforms import TRANSFORMS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def _named_in_catalogue() -> dict[str, list[str]]:
    """Each `transform = "..."` of rules/*.toml, with where it is (file and entry code)."""
    named: dict[str, list[str]] = {}

    def walk(value, where: str) -> None:
        if isinstance(value, dict):
            here = f"{where} {value['code']}" if isinstance(value.get("code"), str) else where
            if "transform" in value:
                assert isinstance(value["transform"], str), f"{here}: `transform` is not a name"
                named.setdefault(value["transform"], []).append(here)
            for item in value.values():
                walk(item, here)
        elif isinstance(value, list):
            for item in value:
                walk(item, where)

    for path in sorted((ROOT / "rules").glob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")), f"rules/{path.name}")
    return named


def _modules_with_a_registry() -> list[str]:
    """The kerasfix modules that make a `TransformRegistry` of their own, read from the source."""
    found = []
    for path in sorted((ROOT / "kerasfix").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "TransformRegistry"
               for node in ast.walk(tree)):
            found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def test_every_transform_the_catalogue_names_is_registered() -> None:
    named = _named_in_catalogue()
    assert named, "the catalogue should name some transforms"
    missing = {name: where for name, where in named.items() if name not in TRANSFORMS}
    assert not missing, f"named in rules/*.toml but registered by no module that kerasfix/checks/transforms.py merges: {missing}"


def test_every_registered_transform_is_used_by_the_catalogue() -> None:
    unused = sorted(set(TRANSFORMS) - set(_named_in_catalogue()))
    assert not unused, f"registered but named by no entry of rules/*.toml: {unused}"


def test_every_transform_registry_is_merged() -> None:
    modules = _modules_with_a_registry()
    assert "kerasfix.checks.layer_transforms" in modules
    for name in modules:
        module = importlib.import_module(name)
        registries = [value for value in vars(module).values() if isinstance(value, TransformRegistry)]
        assert registries, f"{name} makes a TransformRegistry but keeps none at module level"
        for registry in registries:
            left_out = sorted(key for key, function in registry.items() if TRANSFORMS.get(key) is not function)
            assert not left_out, f"{name}'s transforms {left_out} are not in TRANSFORMS: merge its registry in kerasfix/checks/transforms.py"


def test_a_name_registered_twice_is_an_error() -> None:
    transform = TransformRegistry()
    transform("rename-layer")(len)
    with pytest.raises(ValueError, match="rename-layer"):
        transform("rename-layer")(repr)
