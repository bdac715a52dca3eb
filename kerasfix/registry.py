"""Every checker kerasfix has, and which of them a run needs."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kerasfix.rule import Checker, RuleSpec

# Which codes exist, which run by default and which tokens each checker needs are also kept as data
# (rules/index.json, written by `python -m kerasfix.registry`; tests/test_rule_examples.py fails when it
# is stale), so that choosing rules and skipping files without Keras never loads LibCST.
INDEX_FILE = "index.json"


def build_index() -> dict:
    return {
        "codes": {code: {"default": spec.default_enabled} for code, spec in all_specs().items()},
        "checkers": [
            {"name": checker.__name__, "codes": sorted(spec.code for spec in checker.specs), "tokens": sorted(checker.tokens)}
            for checker in checker_types()
        ],
    }


@functools.lru_cache(maxsize=1)
def index() -> dict:
    from kerasfix import catalogue

    path = catalogue.catalogue_dir() / INDEX_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return build_index()


@functools.lru_cache(maxsize=1)
def checker_types() -> tuple[type[Checker], ...]:
    from kerasfix.checks.catalogue import CatalogueChecker
    from kerasfix.checks.functional import LegacyFunctionalChecker
    from kerasfix.checks.graph import GraphChecker
    from kerasfix.checks.modules import LegacyModuleChecker
    from kerasfix.checks.validity import ValidityChecker

    return (LegacyFunctionalChecker, CatalogueChecker, GraphChecker, LegacyModuleChecker, ValidityChecker)


@functools.lru_cache(maxsize=1)
def all_specs() -> dict[str, RuleSpec]:
    specs: dict[str, RuleSpec] = {}
    for checker in checker_types():
        for spec in checker.specs:
            if spec.code in specs:
                raise RuntimeError(f"rule code {spec.code} is defined twice")
            specs[spec.code] = spec
    return dict(sorted(specs.items()))


def codes() -> list[str]:
    return sorted(index()["codes"])


def default_codes() -> frozenset[str]:
    return frozenset(code for code, entry in index()["codes"].items() if entry["default"])


@functools.lru_cache(maxsize=64)
def checkers_for(enabled: frozenset[str]) -> tuple[type[Checker], ...]:
    return tuple(c for c in checker_types() if any(spec.code in enabled for spec in c.specs))


@functools.lru_cache(maxsize=64)
def tokens_for(enabled: frozenset[str]) -> tuple[str, ...]:
    tokens: set[str] = set()
    for checker in index()["checkers"]:
        if any(code in enabled for code in checker["codes"]):
            tokens.update(checker["tokens"])
    return tuple(sorted(tokens))


def select(patterns: list[str], ignore: list[str], extend: list[str] | None = None) -> frozenset[str]:
    """Codes enabled by `--select`/`--ignore` patterns: exact codes, prefixes (`KF1`), or `ALL`."""
    known = codes()
    chosen = set(default_codes()) if not patterns else set()
    for pattern in [*patterns, *(extend or [])]:
        chosen.update(expand(pattern, known))
    for pattern in ignore:
        chosen.difference_update(expand(pattern, known))
    return frozenset(chosen)


def expand(pattern: str, known: list[str] | None = None) -> set[str]:
    """The codes a selector names; raises ValueError for one that names none."""
    known = known if known is not None else codes()
    upper = pattern.strip().upper()
    if upper == "ALL":
        return set(known)
    matched = {code for code in known if code.startswith(upper)}
    if not matched:
        raise ValueError(f"unknown rule selector {pattern!r} (see `kerasfix rules`)")
    return matched


if __name__ == "__main__":  # python -m kerasfix.registry: rewrite rules/index.json
    from kerasfix import catalogue

    target = catalogue.catalogue_dir() / INDEX_FILE
    target.write_text(json.dumps(build_index(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target}")
