"""KF306 renames a layer name with `/` only where the file neither names it elsewhere nor has the new name."""

from __future__ import annotations

from conftest import findings, migrate

PROGRAM = (
    "from keras import layers\nimport keras\ninp = keras.Input((3,))\n"
    "x = layers.Dense(3, name='block1/conv')(inp)\n"
    "y = layers.Dense(3, name='block1_conv')(x)\n"
    "z = layers.Dense(3, name='block2/conv')(y)\n"
    "w = layers.Dense(3, name='block3/conv')(z)\n"
    "m = keras.Model(inp, w)\n"
    "m.get_layer('block2/conv').trainable = False\n"
)


def test_a_rename_that_would_clash_or_leave_a_lookup_behind_is_not_made() -> None:
    found = {f.location.row: f for f in findings(PROGRAM, "KF306")}
    assert sorted(found) == [4, 6, 7]
    assert found[4].fix is None and "already has the name `block1_conv`" in found[4].message
    assert found[6].fix is None and "names `block2/conv` elsewhere" in found[6].message
    fixed = migrate(PROGRAM, "KF306", unsafe=True)
    assert "name='block3_conv'" in fixed and "name='block1/conv'" in fixed and "name='block2/conv'" in fixed
