"""The catalogue's schema (kerasfix/ruledata.py): every shipped file matches it, and each kind of mistake
in a file is an error naming the file, the entry (number and code) and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerasfix import registry, ruledata

CATALOGUE = ruledata.catalogue_dir()


def _registered_transforms() -> frozenset[str]:
    registry.checker_types()  # importing the checkers registers the transforms
    from kerasfix.checks.transforms import TRANSFORMS

    return frozenset(TRANSFORMS)


@pytest.mark.parametrize("path", sorted(CATALOGUE.glob("*.toml")), ids=lambda path: path.name)
def test_every_shipped_file_matches_its_schema(path: Path) -> None:
    ruledata.read(path)


def test_the_shipped_catalogue_is_valid_as_a_whole() -> None:
    loaded = ruledata.validate(CATALOGUE, _registered_transforms())
    assert {"names", "layers", "classes", "keras3"} <= set(loaded)


# --- mistakes, written into a temporary rules/ directory ------------------------------------------

ENTRY = '''
[[change]]
code = "{code}"
name = "rule-{code_lower}"
summary = "Old `Thing` arguments were renamed"
why = "Keras 3 rejects them."
removed_in = "3.0"
symbols = ["keras.layers.Thing"]
renames = {{ old = "new" }}
[[change.examples]]
before = "from keras.layers import Thing\\nThing(old=1)\\n"
after = "from keras.layers import Thing\\nThing(new=1)\\n"
[[change.examples]]
before = "from keras.layers import Thing\\nThing(new=1)\\n"
valid = true
'''


def entry(code: str, *, replace: tuple[str, str] | None = None, add: str = "") -> str:
    text = ENTRY.format(code=code, code_lower=code.lower())
    if replace is not None:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    if add:
        text = text.replace("[[change.examples]]", add.strip() + "\n[[change.examples]]", 1)
    return text


@pytest.fixture()
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty rules/ directory; messages name its files relative to tmp_path, as `rules/layers.toml`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    return tmp_path / "rules"


def error_of(path: Path) -> str:
    with pytest.raises(ruledata.CatalogueError) as caught:
        ruledata.read(path)
    return str(caught.value)


def test_a_valid_file_loads(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313") + entry("KF314") + entry("KF315"))
    data = ruledata.read(path)
    assert [item["code"] for item in data["change"]] == ["KF313", "KF314", "KF315"]


def test_a_misspelt_key(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313") + entry("KF314") + entry("KF315", replace=("renames =", "renamse =")))
    message = error_of(path)
    assert "rules/layers.toml: change #3 (KF315): unknown key 'renamse'" in message
    assert "did you mean 'renames'?" in message


def test_a_missing_required_key(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313") + entry("KF314", replace=('why = "Keras 3 rejects them."\n', "")))
    assert error_of(path) == "rules/layers.toml: change #2 (KF314): missing required key 'why'"


def test_a_wrong_type(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313", replace=('symbols = ["keras.layers.Thing"]', 'symbols = "keras.layers.Thing"')))
    assert error_of(path) == "rules/layers.toml: change #1 (KF313): 'symbols' must be a list of strings, not a string"


@pytest.mark.parametrize("code", ["KF3155", "KF615", "kf315", "KF31", "XY315"])
def test_a_bad_code(rules: Path, code: str) -> None:
    path = rules / "layers.toml"
    path.write_text(entry(code))
    assert f"rules/layers.toml: change #1 ({code}): 'code' must be a rule code such as KF315" in error_of(path)


def test_a_duplicate_code_in_one_file(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313") + entry("KF314") + entry("KF313").replace("rule-kf313", "another-rule"))
    assert error_of(path) == "rules/layers.toml: change #3 (KF313): duplicate code KF313 (also change #1)"


def test_a_duplicate_code_across_files(rules: Path) -> None:
    (rules / "layers.toml").write_text(entry("KF313") + entry("KF314"))
    (rules / "training.toml").write_text(entry("KF314").replace("rule-kf314", "another-rule"))
    with pytest.raises(ruledata.CatalogueError) as caught:
        ruledata.validate(rules)
    assert str(caught.value) == "rules/training.toml: change #1 (KF314): duplicate code KF314 (also rules/layers.toml: change #2 (KF314))"


def test_an_unknown_transform(rules: Path) -> None:
    (rules / "layers.toml").write_text(entry("KF313", add='transform = "keras1-convolutoin"'))
    ruledata.read(rules / "layers.toml")  # a well-formed name: which transforms exist is known only to the checkers
    with pytest.raises(ruledata.CatalogueError) as caught:
        ruledata.validate(rules, _registered_transforms())
    assert "rules/layers.toml: change #1 (KF313): unknown transform 'keras1-convolutoin' (did you mean 'keras1-convolution'?)" == str(caught.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("add", 'fix = "sometimes"'), "'fix' must be one of safe, unsafe, none, not 'sometimes'"),
        (("add", 'fix_safety = "maybe"'), "'fix_safety' must be one of safe, unsafe, sometimes, none, not 'maybe'"),
        (("add", "default = 1"), "'default' must be true or false, not a number"),
        (("removed_in", 'removed_in = "three"'), "'removed_in' must be a version such as 3.0, not 'three'"),
        (("add", 'values = { old = "new" }'), "'values.old' must be a table of Python expressions, not a string"),
        (("add", 'require = { axis = "-" }'), "'require.axis' must be a Python expression, not '-'"),
        (("add", 'combine = [{ into = "size", parts = ["a"] }]'), "combine #1: 'parts' must name at least two arguments"),
        (("add", 'combine = [{ into = "size", part = ["a", "b"] }]'), "combine #1: unknown key 'part'"),
        (("add", 'replacement_method = "fit"'), "'replacement_method' needs 'methods'"),
        (("add", 'options = { x = 1 }'), "'options' are read by a transform: it needs 'transform'"),
        (("symbols", 'methods = []\nsymbols = []'), "needs 'symbols' or 'methods'"),
        (("symbols", 'symbols = ["Thing"]'), "'symbols' must be dotted names such as keras.layers.Conv2D, not 'Thing'"),
        (("symbols", 'symbols = ["keras.layers.Thing", 3]'), "'symbols' must be a list of strings, not a list holding a number"),
    ],
)
def test_other_mistakes(rules: Path, change: tuple[str, str], problem: str) -> None:
    how, line = change
    if how == "symbols":
        text = entry("KF313", replace=('symbols = ["keras.layers.Thing"]', line))
    elif how == "removed_in":
        text = entry("KF313", replace=('removed_in = "3.0"', line))
    else:
        text = entry("KF313", add=line)
    path = rules / "layers.toml"
    path.write_text(text)
    assert f"rules/layers.toml: change #1 (KF313): {problem}" in error_of(path)


@pytest.mark.parametrize(
    ("example", "problem"),
    [
        ('before = "x = 1\\n"\nafer = "x = 2\\n"', "example #1: unknown key 'afer' (did you mean 'after'?)"),
        ('after = "x = 2\\n"', "example #1: missing required key 'before'"),
        ('before = "x = 1\\n"\nvalid = "yes"', "example #1: 'valid' must be true or false, not a string"),
        ('before = "x = 1\\n"\ntarget = "tensorflow"', "example #1: 'target' must be one of tf.keras, keras, portable, not 'tensorflow'"),
        ('before = "x = 1\\n"\nafter = "x = 2\\n"\nvalid = true', "example #1: a valid example has no 'after' or 'unsafe'"),
    ],
)
def test_example_mistakes(rules: Path, example: str, problem: str) -> None:
    text = entry("KF313").replace(
        '[[change.examples]]\nbefore = "from keras.layers import Thing\\nThing(old=1)\\n"\nafter = "from keras.layers import Thing\\nThing(new=1)\\n"\n',
        "[[change.examples]]\n" + example + "\n[[change.examples]]\nbefore = \"Thing(old=1)\\n\"\n",
    )
    path = rules / "layers.toml"
    path.write_text(text)
    assert f"rules/layers.toml: change #1 (KF313): {problem}" in error_of(path)


def test_examples_must_include_one_the_rule_flags(rules: Path) -> None:
    text = entry("KF313").replace('after = "from keras.layers import Thing\\nThing(new=1)\\n"', "valid = true")
    path = rules / "layers.toml"
    path.write_text(text)
    assert "rules/layers.toml: change #1 (KF313): 'examples' needs at least one example the rule flags" in error_of(path)


def test_every_problem_of_a_file_is_reported_at_once(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313", replace=("renames =", "renamse =")) + entry("KF314", replace=('summary = "Old `Thing` arguments were renamed"\n', "")))
    assert error_of(path).splitlines() == [
        "rules/layers.toml: change #1 (KF313): unknown key 'renamse' (did you mean 'renames'?)",
        "rules/layers.toml: change #2 (KF314): missing required key 'summary'",
    ]


# --- table files ----------------------------------------------------------------------------------


NAMES = '''
[roots]
"tensorflow.keras" = "keras"
[modules]
"keras.layers.core" = "keras.layers"
[symbols]
"keras.models.Model" = "keras.Model"
[legacy]
symbols = ["keras.layers.Merge"]
'''


def test_a_table_file(rules: Path) -> None:
    path = rules / "names.toml"
    path.write_text(NAMES)
    assert ruledata.read(path)["roots"] == {"tensorflow.keras": "keras"}


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("[roots]", "[rots]"), "rules/names.toml: unknown table 'rots' (did you mean 'roots'?)"),
        (('[roots]\n"tensorflow.keras" = "keras"\n', ""), "rules/names.toml: missing required table 'roots'"),
        (('"keras.layers.core" = "keras.layers"', '"keras.layers.core" = 3'), "rules/names.toml: 'modules.keras.layers.core' must be a string, not a number"),
        (('symbols = ["keras.layers.Merge"]', 'symbols = "keras.layers.Merge"'), "rules/names.toml: 'legacy.symbols' must be a list of strings, not a string"),
        (("[legacy]", '[[change]]\ncode = "KF399"\n[legacy]'), "rules/names.toml: unknown table 'change'"),
        (("[legacy]\nsymbols", "[legacy]\nsymbol"), "rules/names.toml: unknown key 'legacy.symbol' (did you mean 'symbols'?)"),
    ],
)
def test_table_file_mistakes(rules: Path, edit: tuple[str, str], problem: str) -> None:
    path = rules / "names.toml"
    path.write_text(NAMES.replace(*edit))
    assert problem in error_of(path).splitlines()


def test_a_table_in_the_wrong_file(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text(entry("KF313") + '\n[removed_modules]\n"keras.wrappers.scikit_learn" = "use scikeras"\n')
    assert error_of(path) == "rules/layers.toml: unknown table 'removed_modules'"


def test_keras1_signature_aliases(rules: Path) -> None:
    path = rules / "classes.toml"
    path.write_text('[keras1_signatures]\nConvolution2D = ["filters", "nb_row"]\naliases = { Conv2D = "Convolution2D" }\n')
    ruledata.read(path)
    path.write_text('[keras1_signatures]\nConvolution2D = "filters"\n')
    assert "rules/classes.toml: 'keras1_signatures' must be a table of lists of strings" in error_of(path)
    path.write_text('[keras1_signatures]\nConvolution2D = ["filters"]\naliases = { Conv2D = "Convolution3D" }\n')
    assert error_of(path) == "rules/classes.toml: 'keras1_signatures.aliases.Conv2D' names no signature: 'Convolution3D'"


def test_not_toml(rules: Path) -> None:
    path = rules / "layers.toml"
    path.write_text("[[change]]\ncode = \n")
    assert error_of(path).startswith("rules/layers.toml: not valid TOML: ")
