"""Sweeps over real code: the installed Keras 3 and TensorFlow Python sources.

Both trees are large, varied, and written by others; neither is legacy Keras, so they test that
kerasfix survives whatever real code holds. The `.py` files are copied into a temporary directory
(keeping their relative paths) and run through the command line as users run it:

* `check --no-cache --output-format json`: no file hits an internal error, and any file that cannot
  be parsed is named in the failure message;
* `migrate --unsafe-fixes`: exits 0 or 1, no internal error, every changed file still compiles, a
  second run (`migrate --check --unsafe-fixes`) has nothing left to change, and every file `check`
  reported nothing in is byte for byte what it was.

The counts (files, findings, files changed) are recorded as test properties (`record_property`,
visible in a JUnit XML report).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_kerasfix
from kerasfix.config import Config
from kerasfix.files import discover

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow, pytest.mark.long]

INTERNAL_MARK = "kerasfix failed on this file"


def _package_dir(name: str) -> Path:
    """Where an installed package's source is, without importing it (TensorFlow takes seconds)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _copy_python_tree(source: Path, destination: Path) -> dict[str, bytes]:
    """Copy every `.py` file under `source`, keeping relative paths; returns their original bytes."""
    originals: dict[str, bytes] = {}
    for path in sorted(source.rglob("*.py")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        relative = path.relative_to(source)
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        target.write_bytes(data)
        originals[relative.as_posix()] = data
    return originals


@pytest.fixture(scope="module", params=["keras", "tensorflow"])
def tree(request, tmp_path_factory) -> tuple[str, Path, dict[str, bytes]]:
    package = _package_dir(request.param)
    root = tmp_path_factory.mktemp(f"sweep_{request.param}")
    originals = _copy_python_tree(package, root / request.param)
    assert len(originals) > 100, f"{package} holds only {len(originals)} .py files"
    return request.param, root, originals


def _check_json(root: Path, package: str) -> list[dict]:
    result = run_kerasfix("check", "--no-cache", "--isolated", "--output-format", "json", package, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _relative(filename: str, package: str) -> str:
    path = Path(filename)
    assert path.parts[0] == package, filename
    return Path(*path.parts[1:]).as_posix()


def test_check_and_migrate_real_code(tree, record_property) -> None:
    package, root, originals = tree

    # Nothing in the tree is excluded by default (a directory named `build` would be): the sweep covers it all.
    seen = {path.relative_to(root / package).as_posix() for path in discover([root / package], Config(root=root.resolve()))}
    assert seen == set(originals), f"not looked at: {sorted(set(originals) - seen)[:20]}"

    # -- check
    entries = _check_json(root, package)
    findings = [entry for entry in entries if entry["code"] is not None]
    errors = [entry for entry in entries if entry["code"] is None]
    internal = [entry for entry in errors if entry.get("error") == "internal" or INTERNAL_MARK in entry["message"]]
    assert not internal, "internal errors:\n" + "\n".join(f"{e['filename']}: {e['message']}" for e in internal)
    # Every installed file is Python the interpreter accepted; a parse error is a kerasfix limitation.
    unparsed = [f"{e['filename']}:{e['location']['row']}: {e['message']}" for e in errors]
    assert not unparsed, f"{len(unparsed)} file(s) could not be checked:\n" + "\n".join(unparsed)
    with_findings = {_relative(entry["filename"], package) for entry in findings}
    codes = Counter(entry["code"] for entry in findings)
    record_property("files", len(originals))
    record_property("findings", len(findings))
    record_property("files_with_findings", len(with_findings))
    record_property("codes", dict(sorted(codes.items())))

    # -- migrate
    migrate = run_kerasfix("migrate", "--no-cache", "--isolated", "--unsafe-fixes", package, cwd=root)
    output = migrate.stdout + migrate.stderr
    assert migrate.returncode in (0, 1), output[-5000:]
    # how the text report labels a file it could not process: `<file>: error: ...`, `<file>: internal error: ...`
    failures = [line for line in output.splitlines() if re.search(r": (internal )?error: ", line)]
    assert not failures, "migrate reported errors:\n" + "\n".join(failures)
    assert "could not be processed" not in output, output[-5000:]

    changed: list[str] = []
    for relative, before in originals.items():
        path = root / package / relative
        after = path.read_bytes()
        if after == before:
            continue
        changed.append(relative)
        text = after.decode("utf-8")
        try:
            compile(text, str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            pytest.fail(f"{package}/{relative} no longer compiles after migrate: {error}")
    record_property("files_changed", len(changed))
    untouched_but_changed = sorted(set(changed) - with_findings)
    assert not untouched_but_changed, f"migrate changed files check found nothing in: {untouched_but_changed}"

    # -- a second run has nothing left to do. Files the first run left alone would be given the same
    # input again, so only the changed ones are run through once more.
    if changed:
        paths = [f"{package}/{relative}" for relative in changed]
        again = run_kerasfix("migrate", "--no-cache", "--isolated", "--check", "--unsafe-fixes", *paths, cwd=root)
        assert again.returncode == 0, again.stdout + again.stderr

    print(
        f"{package}: {len(originals)} files, {len(findings)} findings in {len(with_findings)} files, "
        f"{len(changed)} files changed by migrate"
    )
