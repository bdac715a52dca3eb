"""What a program reads under `kerasfix verify`, inside the worker: its command-line arguments, the files it
downloads (`get_file`) or opens, pretrained weights and images. Where the real thing cannot be had, a small
stand-in of the same kind keeps the program's own logic running; each substitution is noted for the report.

Everything is written inside the job's working directory. `begin()` and `end()` bracket one file's job.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import inspect
import os
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

SYNTHETIC = "kerasfix_synthetic"  # the folder, in the job's directory, that holds every stand-in
PLACEHOLDER = "kerasfix-placeholder"  # the value of a required text argument nobody gave
PLACEHOLDER_NUMBERS = {int: "32", float: "0.1"}
ARCHIVES = {".tar.gz": "gztar", ".tgz": "gztar", ".tar.bz2": "bztar", ".tar": "tar", ".zip": "zip"}
IMAGE_SIZE = (224, 224)
WORDS = ("the quick brown fox jumps over the lazy dog while keras models learn from small synthetic text and "
         "every sentence ends").split()
# `sandbox` makes these look where `locate` does; here they must answer for the path itself
_exists = os.path.exists


class MissingDataFile(FileNotFoundError):
    """The program opened a file to read that is nowhere verify may look: a data file only the user has."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(2, message, path)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return self.message


class _Job:
    """The current file's job: its arguments, where its data may be, and what was substituted."""

    def __init__(self) -> None:
        self.active = False
        self.args: list[str] | None = None
        self.dirs: list[str] = []  # the program's directory, then --data
        self.data: str | None = None
        self.side = "original"
        self.notes: list[str] = []
        self.placeholders: dict[str, str] = {}  # argument -> the placeholder given
        self.shown: dict[str, str] = {}  # argument -> the placeholder as the report shows it
        self.argv: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


JOB = _Job()


def begin(program: str | None, args: list[str] | None, data: str | None) -> None:
    JOB.__init__()
    JOB.active = True
    JOB.args = list(args) if args is not None else None
    JOB.data = data
    JOB.dirs = [d for d in (os.path.dirname(program) if program else None, data) if d]
    JOB.argv = sys.argv
    sys.argv = [program or "program.py", *(args or [])]


def begin_side(label: str) -> None:
    JOB.side = label


def end() -> list[str]:
    """The notes of the job that ends."""
    notes = list(JOB.notes)
    if JOB.active:
        sys.argv = JOB.argv
    JOB.__init__()
    return notes


# ---------------------------------------------------------------------------------------------
# what stops a program that is not kerasfix's doing


# Import names whose package is called something else on PyPI.
PACKAGES = {"PIL": "pillow", "cv2": "opencv-python", "sklearn": "scikit-learn", "skimage": "scikit-image",
            "yaml": "pyyaml", "bs4": "beautifulsoup4", "Bio": "biopython", "tensorflow_hub": "tensorflow-hub",
            "tensorflow_datasets": "tensorflow-datasets", "tensorflow_addons": "tensorflow-addons",
            "classification_models": "image-classifiers"}
OURS = ("keras", "tensorflow", "tf_keras", "kerasfix")


def skip_reason(exc: BaseException, message: str) -> dict | None:
    """Why a failure is something outside kerasfix (a package not installed here, a data file only the user
    has, a layout only a GPU runs), as {"label", "message"}; None for a failure to report as one."""
    if isinstance(exc, MissingDataFile):
        return {"label": "a data file only you have", "message": f"{exc.message}"}
    if "channels_first convolutions only on a GPU" in message:
        return {"label": "channels_first needs a GPU", "message": message}
    if "tensorflow.contrib" in message or (isinstance(exc, AttributeError) and "has no attribute 'contrib'" in message):
        return {"label": "tensorflow.contrib (removed in TensorFlow 2)",
                "message": "the program uses tensorflow.contrib, which TensorFlow 2 removed and no package provides"}
    if not isinstance(exc, ImportError):
        return None
    name = getattr(exc, "name", None) or ""
    if not name and "PIL" in message:
        name = "PIL"
    top = name.split(".")[0]
    if not top or top in OURS:
        return None
    try:
        installed = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        installed = False
    if installed:
        return None
    package = PACKAGES.get(top, top)
    return {"label": f"package {package} not installed",
            "message": f"the program needs {top}, which is not installed here: pip install {package}"}


# ---------------------------------------------------------------------------------------------
# files the program reads


def _synthetic_roots() -> list[str]:
    """Where stand-ins live: a read of a missing file there gets one made on the spot."""
    here = os.getcwd()
    return [os.path.join(here, SYNTHETIC), os.path.join(here, ".keras")]


def locate(path, create: bool = False) -> str | None:
    """Where to read `path` from when it is not where the program looks (its own directory, then --data, by
    the same relative name and then by file name); None to leave the path alone. With `create`, a missing file
    under the stand-ins' folders is made (a file of an extracted stand-in archive)."""
    if not JOB.active or isinstance(path, int):
        return None
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        return None
    if not name or _exists(name):
        return None
    full = os.path.realpath(name)
    if create and any(full.startswith(root + os.sep) for root in map(os.path.realpath, _synthetic_roots())):
        os.makedirs(os.path.dirname(full), exist_ok=True)
        write_stand_in(Path(full))
        return None
    candidates = [] if os.path.isabs(name) else [os.path.join(d, name) for d in JOB.dirs]
    if JOB.data:
        candidates.append(os.path.join(JOB.data, os.path.basename(name)))
    for candidate in candidates:
        if _exists(candidate):
            JOB.note(f"read {name} from {candidate}")
            return candidate
    return None


def missing(path) -> MissingDataFile:
    name = os.fsdecode(os.fspath(path))
    given = [argument for argument, value in JOB.placeholders.items() if value and value in name]
    if given:
        message = (f"the program reads {name!r}, built from the placeholder verify gave its required argument "
                   f"{given[0]}; pass the program's real arguments after `--` (kerasfix verify FILE -- ARGS...)")
    else:
        places = ", ".join(["the job's directory", *JOB.dirs])
        hint = "" if JOB.data else "; pass --data DIR with the directory that holds it"
        message = f"the program reads the data file {name!r}, which is not there (looked in {places}){hint}"
    return MissingDataFile(name, message)


def write_stand_in(path: Path) -> None:
    """A small file of the kind its name says: NumPy arrays, CSV, JSON or text."""
    rng = np.random.default_rng(1234)
    name = path.name
    if name.endswith(".npz"):
        x = rng.integers(0, 256, size=(256, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=256).astype(np.uint8)
        with open(path, "wb") as handle:
            np.savez(handle, x_train=x, y_train=y, x_test=x[:64], y_test=y[:64])
    elif name.endswith(".npy"):
        with open(path, "wb") as handle:
            np.save(handle, rng.normal(size=(256, 8)))
    elif name.endswith(".csv"):
        rows = ["a,b,c,d,label"] + [",".join(f"{v:.4f}" for v in rng.normal(size=4)) + f",{i % 2}" for i in range(64)]
        path.write_text("\n".join(rows) + "\n")
    elif name.endswith(".json"):
        path.write_text("{}\n")
    else:
        path.write_text(stand_in_text())


def stand_in_text(lines: int = 200) -> str:
    """Lines of words, each a tab-separated pair of sentences (as translation corpora are)."""
    out = []
    for line in range(lines):
        words = [WORDS[(line * 7 + k) % len(WORDS)] for k in range(6 + line % 5)]
        half = len(words) // 2
        out.append(" ".join(words[:half]) + "\t" + " ".join(words[half:]))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# get_file


def _archive_kind(*names: str | None) -> tuple[str | None, str]:
    for name in names:
        for suffix, kind in ARCHIVES.items():
            if name and name.endswith(suffix):
                return kind, suffix
    return None, ""


def _stand_in_archive(path: Path, kind: str, top: str) -> None:
    """An archive holding a folder `top` of small text files."""
    files = {f"{top}/{top}.txt": stand_in_text(), f"{top}/train.txt": stand_in_text(160),
             f"{top}/test.txt": stand_in_text(40), f"{top}/README": "a stand-in made by kerasfix verify\n"}
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            for member, text in files.items():
                archive.writestr(member, text)
        return
    mode = {"gztar": "w:gz", "bztar": "w:bz2", "tar": "w"}[kind]
    source = path.parent / f".{path.name}.members"
    for member, text in files.items():
        (source / member).parent.mkdir(parents=True, exist_ok=True)
        (source / member).write_text(text)
    with tarfile.open(path, mode) as archive:
        archive.add(source / top, arcname=top)
    shutil.rmtree(source)


def _extract(archive: str, into: str) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(into)
    else:
        with tarfile.open(archive) as handle:
            handle.extractall(into, filter="data")


_REAL_GET_FILE: list = []


def synthetic_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
                   hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, **kwargs) -> str:
    """`get_file`, never a download: a small stand-in of the kind the name says (a tar or zip archive of text
    files, `.npz`, `.npy`, `.csv`, text), then what Keras 2 (the original program) or Keras 3 (the migrated
    one) does with a downloaded file."""
    origin_name = os.path.basename(urlsplit(origin).path) if origin else ""
    name = os.path.basename(os.fspath(fname)) if fname else origin_name or "download"
    kind, suffix = _archive_kind(name, origin_name)
    if untar and kind is None:
        kind, suffix = "gztar", ".tar.gz"
    folder = Path.cwd() / SYNTHETIC
    folder.mkdir(exist_ok=True)
    top = name[: -len(suffix)] if suffix and name.endswith(suffix) else name.split(".")[0]
    source = folder / (f"{top}{suffix}" if kind else name)
    if not source.exists():
        if kind:
            _stand_in_archive(source, kind, top or "data")
        else:
            write_stand_in(source)
    JOB.note(f"get_file({name!r}) answered with a small stand-in {'archive of text files' if kind else 'file'} "
             "(verify downloads nothing)")
    # Keras's default cache is under the home it saw at import; the job's home is where writes may go
    cache_dir = cache_dir or os.path.join(os.path.expanduser("~"), ".keras")
    if JOB.side == "migrated" and _REAL_GET_FILE:
        return _REAL_GET_FILE[0](fname=fname, origin=source.as_uri(), untar=untar, cache_subdir=cache_subdir,
                                 extract=extract, archive_format=archive_format, cache_dir=cache_dir)
    # Keras 2: the file is `cache_dir/cache_subdir/fname`; `untar` extracts `fname.tar.gz` beside it and returns
    # the folder, `extract` extracts beside the archive and returns the archive.
    datadir = os.path.join(cache_dir, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    if untar:
        target = os.path.join(datadir, os.fspath(fname) if fname else top)
        shutil.copyfile(source, target + ".tar.gz")
        _extract(target + ".tar.gz", datadir)
        return target
    target = os.path.join(datadir, os.fspath(fname) if fname else name)
    shutil.copyfile(source, target)
    if extract and kind:
        _extract(target, datadir)
    return target


def remember_get_file(module) -> None:
    """Keep Keras 3's own get_file (the migrated program's) before `get_file` is replaced everywhere."""
    if not _REAL_GET_FILE and getattr(module, "get_file", None) is not None:
        _REAL_GET_FILE.append(module.get_file)


# ---------------------------------------------------------------------------------------------
# command-line arguments


def _placeholder(action: argparse.Action) -> list[str]:
    if action.choices:
        value = str(next(iter(action.choices)))
    else:
        value = PLACEHOLDER_NUMBERS.get(action.type, PLACEHOLDER)
    count = action.nargs if isinstance(action.nargs, int) else 0 if action.nargs == 0 else 1
    return [value] * count


def placeholder_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """Values of the declared type for the parser's required arguments, recorded for the report."""
    args: list[str] = []
    for action in parser._actions:
        if not action.required or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        if isinstance(action, argparse._SubParsersAction):
            command, subparser = next(iter(action.choices.items()))
            args += [command, *placeholder_arguments(subparser)]
            continue
        values = _placeholder(action)
        JOB.placeholders[action.dest] = values[0] if values else ""
        JOB.shown[action.dest] = values[0] if action.type in PLACEHOLDER_NUMBERS else repr(values[0]) if values else "(flag)"
        args += [*action.option_strings[:1], *values]
    return args


def _parse_known_args(real):
    @functools.wraps(real)
    def parse_known_args(self, args=None, namespace=None):
        if args is None and JOB.active and JOB.args is None:
            args = placeholder_arguments(self)
            if args:
                given = ", ".join(f"{dest}={value}" for dest, value in JOB.shown.items())
                JOB.note(f"the program requires command-line arguments; verify gave placeholders ({given}): pass the "
                         "real ones after `--` (kerasfix verify FILE -- ARGS...)")
        return real(self, args, namespace)

    return parse_known_args


# ---------------------------------------------------------------------------------------------
# pretrained weights and images


def _without_pretrained_weights(function):
    signature = inspect.signature(function)

    @functools.wraps(function)
    def build(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return function(*args, **kwargs)
        weights = bound.arguments.get("weights")
        if isinstance(weights, str) and (weights == "imagenet" or "://" in weights or not _exists(weights)):
            bound.arguments["weights"] = None
            JOB.note(f"{function.__name__}(weights={weights!r}) built with weights=None: verify compares the "
                     "architecture, and copies the original's weights into the migrated model before comparing outputs")
            return function(*bound.args, **bound.kwargs)
        return function(*args, **kwargs)

    build._kerasfix_stand_in = True
    return build


def _load_img(real):
    @functools.wraps(real)
    def load_img(path, *args, **kwargs):
        found = locate(path)
        if found is not None:
            path = found
        elif JOB.active and not _exists(os.fspath(path)):
            try:
                from PIL import Image
            except ImportError:
                return real(path, *args, **kwargs)  # Keras says that PIL is missing
            size = kwargs.get("target_size") or IMAGE_SIZE
            folder = Path.cwd() / SYNTHETIC / "images"
            folder.mkdir(parents=True, exist_ok=True)
            name = os.path.basename(os.fspath(path)) or "image.png"
            stand_in = folder / (name if name.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")) else name + ".png")
            pixels = np.random.default_rng(1234).integers(0, 256, size=(size[0], size[1], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(stand_in)
            JOB.note(f"load_img({os.fspath(path)!r}) read a {size[0]}x{size[1]} stand-in image (the file is not there)")
            path = str(stand_in)
        return real(path, *args, **kwargs)

    return load_img


def _patch(module, attribute: str, wrap, done: dict) -> None:
    value = getattr(module, attribute, None)
    if value is None or getattr(value, "_kerasfix_stand_in", False):
        return
    if id(value) not in done:
        done[id(value)] = wrap(value)
        done[id(value)]._kerasfix_stand_in = True
    try:
        setattr(module, attribute, done[id(value)])
    except (AttributeError, TypeError):
        pass


def install() -> None:
    """Arguments, pretrained weights and images, for every loaded Keras module (public and private paths)."""
    import keras  # noqa: F401 - loads the public API modules

    if not getattr(argparse.ArgumentParser.parse_known_args, "_kerasfix_stand_in", False):
        argparse.ArgumentParser.parse_known_args = _parse_known_args(argparse.ArgumentParser.parse_known_args)
        argparse.ArgumentParser.parse_known_args._kerasfix_stand_in = True
    done: dict = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("keras", "tensorflow", "tf_keras")):
            continue
        if "applications" in name:
            for attribute, value in list(vars(module).items()):
                if inspect.isfunction(value) and attribute[:1].isupper() and "weights" in inspect.signature(value).parameters:
                    _patch(module, attribute, _without_pretrained_weights, done)
        if "load_img" in vars(module):
            _patch(module, "load_img", _load_img, done)
