#!/usr/bin/env python3
"""Fetch the third-party half of the real-code corpus (corpus/packages.toml) into a cache directory.

Each pinned distribution is downloaded with `pip download --no-deps` (the wheel where the package has
one, `--no-binary :all:` for the sdist where it has none; pip runs an sdist's setup.py to read its
metadata, nothing is installed), checked against its SHA-256, unpacked, and its name and version
checked against the distribution's own metadata. Run again, it does nothing for what is already there;
several runs at once (pytest-xdist workers) do not trip over each other.

The cache is `.corpus/` at the repository root (git-ignored: third-party code is fetched, never
committed), or `--cache DIR`, or $KERASFIX_CORPUS_CACHE:

    .corpus/downloads/<archive>                 the files pip downloaded
    .corpus/packages/<name>-<version>/          each distribution unpacked (an sdist without its top folder)

Usage:
    python corpus/fetch.py                      # fetch everything, print where each package's files are
    python corpus/fetch.py --only keras-bert    # one package (repeatable)
    python corpus/fetch.py --json               # the same as JSON
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGES = HERE / "packages.toml"
PROGRAMS = HERE / "programs"
MARKER = ".fetched.json"  # written inside an unpacked distribution before it is moved into place


def default_cache() -> Path:
    return Path(os.environ.get("KERASFIX_CORPUS_CACHE") or ROOT / ".corpus")


class FetchError(Exception):
    """A package could not be fetched. `kind` is "download" (pip failed: PyPI unreachable, most likely),
    "integrity" (the file is not the pinned one) or "layout" (the distribution is not what packages.toml says)."""

    def __init__(self, package: str, message: str, kind: str) -> None:
        super().__init__(f"{package}: {message}")
        self.package = package
        self.kind = kind


@dataclass(frozen=True)
class Package:
    """One [[package]] entry of packages.toml."""

    name: str
    version: str
    dist: str
    archive: str
    sha256: str
    license: str
    files: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()  # `kerasfix verify --call` expressions for builders that need arguments
    style: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


@dataclass
class FetchedPackage:
    """A package unpacked in the cache: `files` and `models` are paths relative to `root` (POSIX form)."""

    package: Package
    root: Path
    files: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus as the benchmark and the tests lay it out: `relative` is its path in a copy
    (`packages/<name>-<version>/...` or `programs/<file>`), `group` the package key or "programs"."""

    relative: str
    source: Path
    group: str
    builds_models: bool


def load_packages(path: Path = PACKAGES) -> list[Package]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    packages = []
    for entry in data.get("package", []):
        unknown = set(entry) - {f for f in Package.__dataclass_fields__}
        if unknown:
            raise ValueError(f"{path}: {entry.get('name')}: unknown field(s) {sorted(unknown)}")
        if entry.get("dist") not in ("wheel", "sdist"):
            raise ValueError(f"{path}: {entry.get('name')}: dist must be \"wheel\" or \"sdist\"")
        packages.append(Package(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}))
    names = [p.name for p in packages]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a package is listed twice")
    return packages


# --- downloading -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(package: Package, downloads: Path) -> Path:
    """The package's archive in `downloads`, fetched with pip unless a file with the pinned hash is there."""
    target = downloads / package.archive
    if target.is_file() and _sha256(target) == package.sha256:
        return target
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=downloads) as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--no-input",
                   "--dest", scratch, f"{package.name}=={package.version}"]
        if package.dist == "wheel":
            command += ["--only-binary", ":all:"]
        else:
            command += ["--no-binary", ":all:"]
            if importlib.util.find_spec("setuptools") is not None:
                command.append("--no-build-isolation")  # reading an sdist's metadata needs only setuptools
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-6:])
            raise FetchError(package.name, f"pip download failed (exit {result.returncode}):\n{tail}", "download")
        got = [p for p in Path(scratch).iterdir() if p.is_file()]
        if [p.name for p in got] != [package.archive]:
            raise FetchError(package.name, f"pip downloaded {sorted(p.name for p in got)}, expected {package.archive}", "layout")
        digest = _sha256(got[0])
        if digest != package.sha256:
            raise FetchError(package.name, f"{package.archive} has SHA-256 {digest}, packages.toml pins {package.sha256}", "integrity")
        os.replace(got[0], target)
    return target


# --- unpacking ---------------------------------------------------------------------------------


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def _unpack_wheel(archive: Path, destination: Path) -> None:
    with zipfile.ZipFile(archive) as wheel:
        for info in wheel.infolist():
            relative = _safe_member(info.filename)
            if relative is None or info.is_dir():
                continue
            target = destination.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wheel.read(info))


def _unpack_sdist(archive: Path, destination: Path) -> None:
    """An sdist holds one top folder, `<name>-<version>/`; its contents go straight into `destination`."""
    with tarfile.open(archive) as sdist:
        for member in sdist.getmembers():
            relative = _safe_member(member.name)
            if relative is None or not member.isfile() or len(relative.parts) < 2:
                continue
            target = destination.joinpath(*relative.parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            source = sdist.extractfile(member)
            if source is not None:
                target.write_bytes(source.read())


def _metadata(package: Package, root: Path) -> tuple[str, str]:
    """Name and version as the distribution's own metadata states them."""
    if package.dist == "sdist":
        candidates = [root / "PKG-INFO"]
    else:
        candidates = sorted(root.glob("*.dist-info/METADATA"))
    for candidate in candidates:
        if candidate.is_file():
            message = email.parser.Parser().parsestr(candidate.read_text(encoding="utf-8", errors="replace"), headersonly=True)
            return message.get("Name", ""), message.get("Version", "")
    raise FetchError(package.name, f"no metadata ({'PKG-INFO' if package.dist == 'sdist' else '*.dist-info/METADATA'}) in {package.archive}", "layout")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _glob(root: Path, patterns: tuple[str, ...]) -> set[str]:
    """Files under `root` matching any of the globs (pathlib's: `**` is any number of folders)."""
    return {p.relative_to(root).as_posix() for pattern in patterns for p in root.glob(pattern) if p.is_file()}


def _select(root: Path, package: Package) -> tuple[list[str], list[str]]:
    """The package's Keras files (`files` minus `exclude`) and which of them build models."""
    excluded = _glob(root, package.exclude)
    files = sorted(_glob(root, package.files) - excluded)
    if not files:
        raise FetchError(package.name, f"no file matches {list(package.files)}", "layout")
    for pattern in package.models:
        if not _glob(root, (pattern,)):
            raise FetchError(package.name, f"models pattern {pattern!r} matches no file", "layout")
    models = sorted(_glob(root, package.models) & set(files))
    return files, models


def _unpacked(package: Package, final: Path) -> bool:
    marker = final / MARKER
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded.get("sha256") == package.sha256 and recorded.get("version") == package.version


def fetch_package(package: Package, cache: Path | None = None) -> FetchedPackage:
    cache = cache or default_cache()
    packages_dir = cache / "packages"
    final = packages_dir / package.key
    if not _unpacked(package, final):
        archive = _download(package, cache / "downloads")
        packages_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{package.key}-", dir=packages_dir))
        try:
            (_unpack_wheel if package.dist == "wheel" else _unpack_sdist)(archive, scratch)
            name, version = _metadata(package, scratch)
            if _canonical(name) != _canonical(package.name) or version != package.version:
                raise FetchError(package.name, f"{package.archive} holds {name} {version}, not {package.name} {package.version}", "layout")
            (scratch / MARKER).write_text(json.dumps({"name": package.name, "version": package.version, "sha256": package.sha256}), encoding="utf-8")
            if final.exists() and not _unpacked(package, final):
                shutil.rmtree(final)  # left by an interrupted run of an older layout, or a different pin
            try:
                os.rename(scratch, final)
            except OSError:
                if not _unpacked(package, final):  # another process finished first; otherwise a real failure
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    files, models = _select(final, package)
    return FetchedPackage(package, final, files, models)


def fetch(cache: Path | None = None, only: list[str] | None = None, packages: list[Package] | None = None) -> list[FetchedPackage]:
    """Fetch every package (or those named in `only`); raises FetchError on the first failure."""
    chosen = packages if packages is not None else load_packages()
    if only:
        unknown = set(only) - {p.name for p in chosen}
        if unknown:
            raise ValueError(f"not in packages.toml: {', '.join(sorted(unknown))}")
        chosen = [p for p in chosen if p.name in only]
    return [fetch_package(package, cache) for package in chosen]


# --- the corpus as files -----------------------------------------------------------------------


def programs() -> list[Path]:
    """Our own programs in the style of old Keras tutorials and books (corpus/programs/*.py)."""
    return sorted(PROGRAMS.glob("*.py"))


def corpus_files(fetched: list[FetchedPackage]) -> list[CorpusFile]:
    """Every file of the corpus: the fetched packages' Keras files, then the programs."""
    found = []
    for item in fetched:
        for relative in item.files:
            found.append(CorpusFile(f"packages/{item.package.key}/{relative}", item.root / relative, item.package.key, relative in item.models))
    for program in programs():
        found.append(CorpusFile(f"programs/{program.name}", program, "programs", True))
    return found


def package_modules(fetched: list[FetchedPackage]) -> list[CorpusFile]:
    """Every module of each fetched distribution's importable packages (the top-level folders with an
    `__init__.py`, and the folders below them that have one too), whether `files` covers it or not: what running a
    package's code needs (an `__init__.py` that `exclude` leaves out of the Keras files is still imported)."""
    found = []
    for item in fetched:
        for top in sorted(p for p in item.root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()):
            for module in sorted(top.rglob("*.py")):
                if all((parent / "__init__.py").is_file() for parent in module.parents if parent.is_relative_to(top)):
                    relative = module.relative_to(item.root).as_posix()
                    found.append(CorpusFile(f"packages/{item.package.key}/{relative}", module, item.package.key, relative in item.models))
    return found


def copy_corpus(files: list[CorpusFile], destination: Path) -> dict[str, bytes]:
    """Copy the corpus into `destination`, keeping each file's `relative` path; returns the original bytes."""
    originals = {}
    for item in files:
        data = item.source.read_bytes()
        target = destination / item.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        originals[item.relative] = data
    return originals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="cache directory (default: .corpus/ at the repository root, or $KERASFIX_CORPUS_CACHE)")
    parser.add_argument("--only", action="append", metavar="NAME", help="fetch only this package (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    cache = (args.cache or default_cache()).resolve()
    try:
        fetched = fetch(cache, args.only)
    except FetchError as error:
        print(f"fetch.py: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"fetch.py: {error}", file=sys.stderr)
        return 2
    if args.json:
        json.dump([{"name": f.package.name, "version": f.package.version, "license": f.package.license, "root": str(f.root),
                    "files": f.files, "models": f.models} for f in fetched], sys.stdout, indent=2)
        print()
        return 0
    for item in fetched:
        p = item.package
        print(f"{p.name} {p.version} ({p.license}): {len(item.files)} files, {len(item.models)} building models, in {item.root}")
    print(f"{len(fetched)} packages, {sum(len(f.files) for f in fetched)} files in {cache}; "
          f"{len(programs())} programs in {PROGRAMS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
