"""Every checker kerasfix has, and which of them a run needs."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kerasfix.rule import Checker, RuleSpec

# Which codes exist, which run by default and which tokens each checker needs, kept so that choosing
# rules and skipping files without Keras never loads LibCST. The index is built from the checkers
# themselves and cached on disk under the fingerprint of kerasfix's code and catalogue, so a new rule or
# catalogue entry is in the next run's index with nothing to regenerate, and a stale index is never read.
INDEX_PREFIX = "index-"
INDEX_KEEP = 8  # cached indexes kept, for the kerasfix checkouts and installs that share the cache


def build_index() -> dict:
    return {
        "codes": {code: {"default": spec.default_enabled, "name": spec.name} for code, spec in all_specs().items()},
        "checkers": [
            {"name": checker.__name__, "codes": sorted(spec.code for spec in checker.specs), "tokens": sorted(checker.tokens)}
            for checker in checker_types()
        ],
    }


@functools.lru_cache(maxsize=1)
def fingerprint() -> str:
    """What decides the rules and their results: kerasfix's version, its modules and its catalogue."""
    import hashlib

    from kerasfix import __version__, ruledata

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{__version__}\0{ruledata.fingerprint()}\0".encode())
    for path in sorted(package.rglob("*.py")):
        # sizes and times rather than contents: reading every module on each run would cost more
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def user_cache_dir() -> Path:
    """Where kerasfix keeps what it may reuse in any directory (the rule index); KERASFIX_CACHE_DIR overrides."""
    override = os.environ.get("KERASFIX_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "kerasfix" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "kerasfix"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kerasfix"


@functools.lru_cache(maxsize=1)
def index() -> dict:
    """The index of this kerasfix's rules: read from the cache when one was built for the same
    fingerprint, else built from the checkers (loading LibCST) and cached for the next run."""
    try:
        path = user_cache_dir() / f"{INDEX_PREFIX}{fingerprint()}.json"
    except RuntimeError:  # no home directory to put the cache in
        return build_index()
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if _well_formed(stored):
            return stored
    except (OSError, ValueError):
        pass
    built = build_index()
    _store(path, built)
    return built


def _well_formed(stored: object) -> bool:
    return (
        isinstance(stored, dict)
        and isinstance(stored.get("codes"), dict)
        and all(
            isinstance(entry, dict) and isinstance(entry.get("default"), bool) and isinstance(entry.get("name", ""), str)
            for entry in stored["codes"].values()
        )
        and isinstance(stored.get("checkers"), list)
        and all(isinstance(c, dict) and isinstance(c.get("codes"), list) and isinstance(c.get("tokens"), list) for c in stored["checkers"])
    )


def _store(path: Path, built: dict) -> None:
    """Write the index atomically; an unwritable cache only means the next run builds it again."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-index-")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(built, handle, indent=1, sort_keys=True)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        cached = sorted(path.parent.glob(f"{INDEX_PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in cached[INDEX_KEEP:]:
            old.unlink()
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def checker_types() -> tuple[type[Checker], ...]:
    from kerasfix import ruledata
    from kerasfix.checks.catalogue import CatalogueChecker
    from kerasfix.checks.custom_layers import CustomLayerChecker
    from kerasfix.checks.declared_shapes import DeclaredShapeChecker
    from kerasfix.checks.functional import LegacyFunctionalChecker
    from kerasfix.checks.graph import GraphChecker
    from kerasfix.checks.image_datasets import ImageDatasetChecker
    from kerasfix.checks.initializer_functions import InitializerFunctionChecker
    from kerasfix.checks.layer_names import LayerNameChecker
    from kerasfix.checks.modules import LegacyModuleChecker
    from kerasfix.checks.noqa import UnusedNoqaChecker
    from kerasfix.checks.portable import PortableChecker
    from kerasfix.checks.tensor_shapes import TensorShapeChecker
    from kerasfix.checks.transforms import TRANSFORMS
    from kerasfix.checks.validity import ValidityChecker

    # Each catalogue file was checked as it was loaded; now the whole catalogue, with the transform
    # names the checker modules registered.
    ruledata.check_catalogue(TRANSFORMS)
    return (
        LegacyFunctionalChecker, CatalogueChecker, GraphChecker, LegacyModuleChecker, ValidityChecker, CustomLayerChecker,
        PortableChecker, ImageDatasetChecker, InitializerFunctionChecker, TensorShapeChecker, LayerNameChecker,
        DeclaredShapeChecker, UnusedNoqaChecker,
    )


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


def code_of(name: str) -> str | None:
    """The code of the rule with this name (`legacy-merge` -> KF101), or None."""
    wanted = name.strip().lower()
    for code, entry in index()["codes"].items():
        if entry.get("name") == wanted:
            return code
    return None


def expand(pattern: str, known: list[str] | None = None) -> set[str]:
    """The codes a selector names (a code, a prefix, a rule's name or ALL); raises ValueError for
    one that names none."""
    known = known if known is not None else codes()
    upper = pattern.strip().upper()
    if upper == "ALL":
        return set(known)
    matched = {code for code in known if code.startswith(upper)}
    if not matched:
        named = code_of(pattern)
        if named is not None and named in known:
            return {named}
        raise ValueError(f"unknown rule selector {pattern!r} (see `kerasfix rules`)")
    return matched

