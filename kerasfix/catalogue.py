"""Loading the rule catalogue (the TOML files in `rules/`) once per process."""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


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
    """One catalogue file, by stem (`names` reads `rules/names.toml`)."""
    path = catalogue_dir() / f"{name}.toml"
    with path.open("rb") as handle:
        return tomllib.load(handle)


@functools.lru_cache(maxsize=None)
def fingerprint() -> str:
    """A hash of every catalogue file, so caches notice when the catalogue changes."""
    digest = hashlib.sha256()
    for path in sorted(catalogue_dir().glob("*.toml")) + sorted(catalogue_dir().glob("*.json")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
