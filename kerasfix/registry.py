"""Every checker kerasfix has, and which of them a run needs."""

from __future__ import annotations

import functools

from kerasfix.rule import Checker, RuleSpec


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


def default_codes() -> frozenset[str]:
    return frozenset(code for code, spec in all_specs().items() if spec.default_enabled)


@functools.lru_cache(maxsize=64)
def checkers_for(enabled: frozenset[str]) -> tuple[type[Checker], ...]:
    return tuple(c for c in checker_types() if any(spec.code in enabled for spec in c.specs))


@functools.lru_cache(maxsize=64)
def tokens_for(enabled: frozenset[str]) -> tuple[str, ...]:
    tokens: set[str] = set()
    for checker in checkers_for(enabled):
        tokens.update(checker.tokens)
    return tuple(sorted(tokens))


def select(patterns: list[str], ignore: list[str], extend: list[str] | None = None) -> frozenset[str]:
    """Codes enabled by `--select`/`--ignore` patterns: exact codes, prefixes (`KF1`), or `ALL`."""
    codes = list(all_specs())
    chosen = set(default_codes()) if not patterns else set()
    for pattern in [*patterns, *(extend or [])]:
        chosen.update(expand(pattern, codes))
    for pattern in ignore:
        chosen.difference_update(expand(pattern, codes))
    return frozenset(chosen)


def expand(pattern: str, codes: list[str] | None = None) -> set[str]:
    """The codes a selector names; raises ValueError for one that names none."""
    codes = codes if codes is not None else list(all_specs())
    upper = pattern.strip().upper()
    if upper == "ALL":
        return set(codes)
    matched = {code for code in codes if code.startswith(upper)}
    if not matched:
        raise ValueError(f"unknown rule selector {pattern!r} (see `kerasfix rules`)")
    return matched
