"""A content-hash cache of `check` results, like `.ruff_cache`: unchanged files are not parsed again.

An entry is keyed by the file's bytes, its name, the kerasfix version, the rule catalogue and the
settings; it holds the findings as JSON. A missing, unreadable or corrupt entry is a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from kerasfix import __version__, registry
from kerasfix.findings import FileError, Finding, finding_from_record, finding_to_record

CACHE_DIR = ".kerasfix_cache"


class Cache:
    def __init__(self, root: Path, settings_key: str) -> None:
        self.directory = root / CACHE_DIR / __version__
        self.salt = f"{registry.fingerprint()}\0{settings_key}".encode()

    def key(self, name: str, raw: bytes) -> str:
        digest = hashlib.sha256(self.salt)
        digest.update(name.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(raw)
        return digest.hexdigest()

    def get(self, key: str) -> tuple[list[Finding], FileError | None] | None:
        path = self.directory / key[:2] / key
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            findings = [finding_from_record(item) for item in record["findings"]]
            error = FileError(**record["error"]) if record.get("error") else None
            return findings, error
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, findings: list[Finding], error: FileError | None) -> None:
        if error is not None and error.kind == "internal":
            return  # an internal error may be fixed by the next version; do not remember it
        record = {
            "findings": [finding_to_record(f) for f in findings],
            "error": error.__dict__ if error is not None else None,
        }
        folder = self.directory / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _ensure_gitignore(self.directory.parent)
            descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
            os.replace(temporary, folder / key)
        except OSError:
            pass  # a read-only tree or a full disk only costs speed


def _ensure_gitignore(directory: Path) -> None:
    marker = directory / ".gitignore"
    if not marker.exists():
        try:
            marker.write_text("# Created by kerasfix; safe to delete.\n*\n", encoding="utf-8")
        except OSError:
            pass


def clean(root: Path) -> bool:
    """Remove the cache directory under `root`; True when there was one."""
    directory = root / CACHE_DIR
    if not directory.exists():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True
