"""`rules/keras_api.json` is the API of the installed Keras; and every rule is listed and explained by the CLI."""

from __future__ import annotations

import json
import os

import pytest

from conftest import cli, run_kerasfix
from kerasfix import registry, ruledata

SNAPSHOT = ruledata.catalogue_dir() / "keras_api.json"
MAX_LINES = 40


def _params(entry: dict) -> list[str]:
    names = [p["name"] + ("" if "default" not in p else f"={p['default']!r}") for p in entry.get("params", [])]
    if entry.get("var_positional"):
        names.append("*args")
    if entry.get("var_keyword"):
        names.append("**kwargs")
    return names


def drift(stored: dict, fresh: dict) -> list[str]:
    """What differs between two snapshots, one line per difference."""
    lines: list[str] = []
    if stored.get("keras_version") != fresh.get("keras_version"):
        lines.append(f"keras_version: {stored.get('keras_version')} in the file, {fresh.get('keras_version')} installed")
    if stored.get("layer_base_keywords") != fresh.get("layer_base_keywords"):
        lines.append(f"layer_base_keywords: {stored.get('layer_base_keywords')} -> {fresh.get('layer_base_keywords')}")
    old_modules, new_modules = stored.get("modules", {}), fresh.get("modules", {})
    for module in sorted(set(old_modules) | set(new_modules)):
        if module not in new_modules:
            lines.append(f"module {module}: no longer importable")
            continue
        if module not in old_modules:
            lines.append(f"module {module}: new")
            continue
        added = sorted(set(new_modules[module]) - set(old_modules[module]))
        removed = sorted(set(old_modules[module]) - set(new_modules[module]))
        if added:
            lines.append(f"module {module}: new names {', '.join(added)}")
        if removed:
            lines.append(f"module {module}: names gone {', '.join(removed)}")
    old_symbols, new_symbols = stored.get("symbols", {}), fresh.get("symbols", {})
    for symbol in sorted(set(old_symbols) & set(new_symbols)):
        before, after = old_symbols[symbol], new_symbols[symbol]
        if before != after:
            if _params(before) != _params(after):
                lines.append(f"{symbol}: ({', '.join(_params(before))}) -> ({', '.join(_params(after))})")
            else:
                changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                lines.append(f"{symbol}: {', '.join(changed)} changed")
    for method in sorted(set(stored.get("model_methods", {})) | set(fresh.get("model_methods", {}))):
        before = stored.get("model_methods", {}).get(method, {})
        after = fresh.get("model_methods", {}).get(method, {})
        if before != after:
            lines.append(f"Model.{method}: ({', '.join(_params(before))}) -> ({', '.join(_params(after))})")
    return lines


@pytest.mark.tensorflow
def test_snapshot_is_the_installed_keras_api() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from kerasfix import apisnapshot

    rendered = apisnapshot.render(apisnapshot.build())
    text = SNAPSHOT.read_text(encoding="utf-8")
    if rendered == text:
        return
    lines = drift(json.loads(text), json.loads(rendered)) or ["(formatting only)"]
    shown = "\n  ".join(lines[:MAX_LINES]) + (f"\n  ... and {len(lines) - MAX_LINES} more" if len(lines) > MAX_LINES else "")
    pytest.fail(
        f"rules/keras_api.json has drifted from the installed Keras ({len(lines)} differences):\n  {shown}\n"
        "Regenerate it with `python -m kerasfix.apisnapshot` and review the rules that use the changed names."
    )


def test_drift_is_described() -> None:
    stored = {
        "keras_version": "3.0.0",
        "layer_base_keywords": ["name"],
        "modules": {"keras.layers": ["Dense", "Old"]},
        "symbols": {"keras.layers.Dense": {"kind": "class", "params": [{"name": "units", "required": True}]}},
        "model_methods": {},
    }
    fresh = {
        "keras_version": "3.1.0",
        "layer_base_keywords": ["name"],
        "modules": {"keras.layers": ["Dense", "New"], "keras.ops": []},
        "symbols": {"keras.layers.Dense": {"kind": "class", "params": [{"name": "units", "required": True}], "var_keyword": True}},
        "model_methods": {},
    }
    lines = drift(stored, fresh)
    assert "keras_version: 3.0.0 in the file, 3.1.0 installed" in lines
    assert "module keras.layers: new names New" in lines
    assert "module keras.layers: names gone Old" in lines
    assert "module keras.ops: new" in lines
    assert "keras.layers.Dense: (units) -> (units, **kwargs)" in lines


def test_every_rule_is_listed_by_kerasfix_rules() -> None:
    result = cli("rules")
    assert result.returncode == 0, result.stderr
    for code, spec in registry.all_specs().items():
        assert code in result.stdout, f"{code} missing from `kerasfix rules`"


def test_every_rule_is_explained() -> None:
    for code, spec in registry.all_specs().items():
        explained = cli("explain", code.lower())
        assert explained.returncode == 0
        out = explained.stdout
        assert out.startswith(f"# {code} ({spec.name})"), out[:200]
        assert "## What it does" in out and "## Why is this bad?" in out and "## Fix safety" in out
    result = run_kerasfix("explain", "KF303")
    assert result.returncode == 0 and "legacy-module-path" in result.stdout


def test_explaining_an_unknown_code_is_a_usage_error() -> None:
    result = cli("explain", "KF999")
    assert result.returncode == 2
    assert "no rule" in result.stderr
