"""The corpus tooling of issue 12 without the network: packages.toml is well formed, our programs keep
their conventions, the backend-call finder sees every import spelling, and unpacking is safe.
(The corpus itself is fetched and migrated in the slow tests/test_corpus.py.)"""

from __future__ import annotations

import ast
import io
import re
import sys
import tarfile
import zipfile

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))

from corpus import fetch as corpus_fetch  # noqa: E402
from corpus.backend_calls import find_backend_calls, keras3_backend_names  # noqa: E402

PROGRAMS = corpus_fetch.programs()


def test_packages_toml_is_well_formed() -> None:
    packages = corpus_fetch.load_packages()
    assert len(packages) >= 15
    for package in packages:
        assert re.fullmatch(r"[0-9a-f]{64}", package.sha256), package.name
        assert package.archive.endswith(".whl" if package.dist == "wheel" else ".tar.gz"), package.name
        assert package.license, package.name
        assert package.files, package.name
        for pattern in package.files + package.models:
            assert not re.search(r"(^|/)(tests?|docs?)(/|$)|setup\.py", pattern), f"{package.name}: {pattern} takes tests, docs or setup.py"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_program_conventions(program) -> None:
    text = program.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert 30 <= len(lines) <= 120, f"{len(lines)} lines"
    assert lines[0].startswith("# Style: "), "the first comment says what style the program imitates and what it exercises"
    tree = ast.parse(text)
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert any(name == "keras" or name.startswith(("keras.", "tensorflow")) for name in imported), "imports no Keras"
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
              for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert called & {"Model", "Sequential"}, "builds no model"


def test_programs_are_about_fifteen() -> None:
    assert 12 <= len(PROGRAMS) <= 25


@pytest.mark.parametrize("source, expected", [
    ("from keras import backend as K\nK.sum(x)\n", ["sum"]),
    ("import keras.backend as K\nK.int_shape(x)\n", ["int_shape"]),
    ("from tensorflow.keras import backend as K\nK.mean(x)\n", ["mean"]),
    ("from tensorflow.python.keras import backend as K\nK.dot(a, b)\n", ["dot"]),
    ("import keras\nkeras.backend.exp(x)\n", ["exp"]),
    ("import keras.backend\nkeras.backend.image_data_format()\n", ["image_data_format"]),
    ("from tensorflow import keras\nK = keras.backend\nK.square(x)\n", ["square"]),
    ("import tensorflow as tf\ntf.keras.backend.get_value(v)\ntf.compat.v1.keras.backend.get_session()\n", ["get_value", "get_session"]),
    ("from keras.backend import batch_dot as bd, epsilon\nbd(a, b)\nepsilon()\n", ["batch_dot", "epsilon"]),
    ("from keras import backend\nbackend.cast(x, 'float32')\n", ["cast"]),
    ("from keras import ops\nimport numpy as K\nops.sum(x)\nK.sum(x)\n", []),
    ("from keras import layers\nlayers.Dense(3)\n", []),
    ("def broken(:\n", []),
])
def test_backend_call_finder(source, expected) -> None:
    assert [call.function for call in find_backend_calls(source)] == expected


def test_keras3_backend_names() -> None:
    names = keras3_backend_names()
    assert {"epsilon", "floatx", "image_data_format", "clear_session"} <= names
    assert not {"sum", "int_shape", "batch_dot", "function", "gradients"} & names


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_unpacking_strips_the_sdist_folder_and_refuses_escapes(tmp_path) -> None:
    sdist = tmp_path / "pkg-1.0.tar.gz"
    sdist.write_bytes(_tar({"pkg-1.0/PKG-INFO": b"Name: pkg\nVersion: 1.0\n", "pkg-1.0/pkg/a.py": b"x = 1\n",
                            "pkg-1.0/../../evil.py": b"", "/abs.py": b""}))
    out = tmp_path / "sdist"
    corpus_fetch._unpack_sdist(sdist, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["PKG-INFO", "pkg/a.py"]
    assert not (tmp_path / "evil.py").exists()

    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/a.py", "x = 1\n")
        archive.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n")
        archive.writestr("../evil.py", "")
    out = tmp_path / "wheel"
    corpus_fetch._unpack_wheel(wheel, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["pkg-1.0.dist-info/METADATA", "pkg/a.py"]


def test_a_cached_package_is_not_downloaded_again(tmp_path, monkeypatch) -> None:
    data = _tar({"pkg-1.0/PKG-INFO": b"Name: pkg\nVersion: 1.0\n", "pkg-1.0/pkg/model.py": b"m = 1\n",
                 "pkg-1.0/pkg/tests/test_a.py": b"", "pkg-1.0/setup.py": b""})
    import hashlib

    package = corpus_fetch.Package(name="pkg", version="1.0", dist="sdist", archive="pkg-1.0.tar.gz",
                                   sha256=hashlib.sha256(data).hexdigest(), license="MIT", files=("pkg/**/*.py",),
                                   exclude=("pkg/tests/*.py",), models=("pkg/model.py",))
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "pkg-1.0.tar.gz").write_bytes(data)
    monkeypatch.setattr(corpus_fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip was run for a cached file"))
    fetched = corpus_fetch.fetch_package(package, tmp_path)
    assert fetched.files == ["pkg/model.py"] and fetched.models == ["pkg/model.py"]
    again = corpus_fetch.fetch_package(package, tmp_path)
    assert again.root == fetched.root

    wrong = corpus_fetch.Package(**{**package.__dict__, "version": "2.0", "archive": "pkg-2.0.tar.gz"})
    (tmp_path / "downloads" / "pkg-2.0.tar.gz").write_bytes(data)
    with pytest.raises(corpus_fetch.FetchError) as caught:
        corpus_fetch.fetch_package(wrong, tmp_path)
    assert caught.value.kind == "layout" and "holds pkg 1.0" in str(caught.value)
