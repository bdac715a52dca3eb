"""The migrated fixture programs build under Keras 3 with the parameter counts worked out by hand.

Collected automatically: for every `fixtures/**/<name>.models.toml`, `<name>.fixed.py` (the expected
output of `kerasfix migrate --unsafe-fixes`) is executed in this process, in a fresh namespace whose
`__name__` is not "__main__" (the fixtures keep data loading and training under
`if __name__ == "__main__":`, so running the module only builds and compiles its models). Each table
`[models.<variable>]` of the TOML names a module-level variable that must hold a Keras model whose
`count_params()` equals `total_params`; a table with `built_on_first_batch = [steps, ...]` names a
model whose source states no input shape, which must be unbuilt until built on that batch shape. The counts in the TOML are computed by hand from the layer
formulas, never by running the code, so this checks the hand-written `.fixed.py` files and the
arithmetic against each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]  # slow: builds models or runs many CLI processes; CI runs it, `-m "not slow"` leaves it out

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODEL_TABLES = sorted(FIXTURES.rglob("*.models.toml"))

def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(FIXTURES)).removesuffix(".models.toml") for path in paths]


def _expected_models(table_path: Path) -> dict[str, dict]:
    models = tomllib.loads(table_path.read_text(encoding="utf-8")).get("models", {})
    assert models, f"{table_path.name} has no [models.<variable>] table"
    return models


def test_there_are_model_tables() -> None:
    assert MODEL_TABLES


@pytest.mark.parametrize("table_path", MODEL_TABLES, ids=_ids(MODEL_TABLES))
def test_fixed_program_builds_with_hand_counted_params(table_path: Path) -> None:
    keras = pytest.importorskip("keras")
    expected = _expected_models(table_path)
    program = table_path.with_name(table_path.name.removesuffix(".models.toml") + ".fixed.py")
    assert program.exists(), f"{table_path.name} has no {program.name}"

    text = program.read_text(encoding="utf-8")
    keras.backend.clear_session()
    namespace = {"__name__": "kerasfix_fixture_" + program.name.removesuffix(".fixed.py"), "__file__": str(program)}
    exec(compile(text, str(program), "exec", dont_inherit=True), namespace)

    got = {}
    for name in expected:
        assert name in namespace, f"{program.name} defines no variable {name!r}"
        model = namespace[name]
        assert isinstance(model, keras.Model), f"{name} in {program.name} is {type(model).__name__}, not a keras.Model"
        unbuilt_shape = expected[name].get("built_on_first_batch")
        if unbuilt_shape is not None:
            # a model whose source states no input shape: Keras 3 builds it on its first batch
            assert not model.built, f"{name} is built, but the table says it waits for its first batch"
            model.build((None, *unbuilt_shape))
        got[name] = model.count_params()
    assert got == {name: table["total_params"] for name, table in expected.items()}
