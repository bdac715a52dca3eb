"""The model-graph rules on realistic programs: KF201-KF209 (Sequential/Functional misuse) and KF401-KF403
(static shape errors) flag the mistake, name what is wrong, and stay silent on the correct version.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from conftest import cli, findings as engine_findings, migrate
from kerasfix import registry
from kerasfix.findings import Finding

DEFAULT = registry.default_codes()
GRAPH_CODES = ("KF201", "KF202", "KF203", "KF204", "KF205", "KF206", "KF207", "KF208", "KF209", "KF401", "KF402", "KF403")


def findings(text: str, enabled: frozenset[str] = DEFAULT) -> list[Finding]:
    """The findings of a program written indented in a triple-quoted string."""
    return engine_findings(textwrap.dedent(text), enabled)


def graph_findings(text: str, enabled: frozenset[str] = DEFAULT) -> list[Finding]:
    """Only the model-graph findings: the programs below also use APIs other rules may mention."""
    return [f for f in findings(text, enabled) if f.code in GRAPH_CODES]


def only(text: str, code: str) -> Finding:
    """The single graph finding of the program, which must have this code."""
    found = graph_findings(text)
    assert [f.code for f in found] == [code], found
    return found[0]


def silent(text: str) -> None:
    found = graph_findings(text)
    assert found == [], found


def fixed(text: str, unsafe: bool = False) -> str:
    return migrate(textwrap.dedent(text), DEFAULT, unsafe=unsafe)


# --- KF401 incompatible merge shapes -------------------------------------------------------------------

INCEPTION_STRIDES = """\
    import keras
    from keras import layers

    def inception(x):
        branch1 = layers.Conv2D(16, 1, padding="same", activation="relu")(x)
        branch3 = layers.Conv2D(24, 1, activation="relu")(x)
        branch3 = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(branch3)
        pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
        return layers.concatenate([branch1, branch3, pool])

    inputs = keras.Input(shape=(32, 32, 3))
    outputs = layers.Dense(10)(layers.GlobalAveragePooling2D()(inception(inputs)))
    model = keras.Model(inputs, outputs)
"""


def test_kf401_inception_branch_with_a_different_stride_names_both_shapes():
    finding = only(INCEPTION_STRIDES, "KF401")
    assert finding.location.row == 9  # the concatenate call inside inception()
    assert "(None, 32, 32, 16)" in finding.message
    assert "(None, 16, 16, 32)" in finding.message


def test_kf401_inception_with_matching_strides_is_silent():
    silent(INCEPTION_STRIDES.replace("strides=2, ", ""))


RESIDUAL = """\
    from tensorflow import keras
    from tensorflow.keras import layers

    inputs = keras.Input(shape=(56, 56, 64))
    x = layers.Conv2D(128, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(128, 3, padding="same")(x)
    x = layers.Add()([x, inputs])
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(x))
"""


def test_kf401_residual_add_with_different_channels():
    finding = only(RESIDUAL, "KF401")
    assert finding.location.row == 9
    assert "(None, 56, 56, 128)" in finding.message and "(None, 56, 56, 64)" in finding.message


def test_kf401_residual_add_with_a_projection_shortcut_is_silent():
    silent(RESIDUAL.replace("x = layers.Add()([x, inputs])", "x = layers.Add()([x, layers.Conv2D(128, 1)(inputs)])"))


def test_kf401_concatenate_along_time_with_different_feature_sizes():
    finding = only(
        """\
        import keras
        from keras import layers

        words = keras.Input(shape=(20, 300))
        chars = keras.Input(shape=(20, 50))
        joined = layers.Concatenate(axis=1)([words, chars])
        model = keras.Model([words, chars], layers.LSTM(32)(joined))
        """,
        "KF401",
    )
    assert "(None, 20, 300)" in finding.message and "(None, 20, 50)" in finding.message


def test_kf401_concatenate_along_time_with_equal_feature_sizes_is_silent():
    silent(
        """\
        import keras
        from keras import layers

        past = keras.Input(shape=(20, 8))
        future = keras.Input(shape=(5, 8))
        joined = layers.Concatenate(axis=1)([past, future])
        model = keras.Model([past, future], layers.LSTM(32)(joined))
        """
    )


def test_kf401_dot_of_vectors_of_different_lengths():
    finding = only(
        """\
        from keras.layers import Dense, Dot, Input
        from keras.models import Model

        user = Input(shape=(10,))
        item = Input(shape=(12,))
        score = Dot(axes=1)([Dense(32)(user), Dense(16)(item)])
        model = Model([user, item], score)
        """,
        "KF401",
    )
    assert "(None, 32)" in finding.message and "(None, 16)" in finding.message


def test_kf401_subtract_of_three_tensors():
    only(
        """\
        import keras
        from keras import layers

        a, b, c = keras.Input((4,)), keras.Input((4,)), keras.Input((4,))
        out = layers.Subtract()([a, b, c])
        model = keras.Model([a, b, c], out)
        """,
        "KF401",
    )


# --- KF402 window larger than its input ----------------------------------------------------------------


def test_kf402_five_by_five_convolution_on_a_three_by_three_map():
    finding = only(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([
            keras.Input(shape=(3, 3, 256)),
            layers.Conv2D(128, (5, 5), activation="relu"),
            layers.Flatten(),
            layers.Dense(10),
        ])
        """,
        "KF402",
    )
    assert finding.location.row == 6


def test_kf402_too_many_poolings_for_mnist():
    # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5 -conv3-> 3 -pool-> 1 -conv3-> negative
    finding = only(
        """\
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Conv2D, MaxPooling2D, Flatten, Dense

        model = Sequential()
        model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
        for filters in (64, 128, 256):
            model.add(MaxPooling2D((2, 2)))
            model.add(Conv2D(filters, (3, 3), activation="relu"))
        model.add(Flatten())
        model.add(Dense(10, activation="softmax"))
        """,
        "KF402",
    )
    assert finding.location.row == 8


def test_kf402_same_padding_keeps_the_size():
    silent(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([keras.Input(shape=(3, 3, 256)), layers.Conv2D(128, 5, padding="same"), layers.Flatten()])
        """
    )


def test_kf402_dilated_convolution_reaching_past_the_sequence():
    # kernel 3 with dilation 4 spans 9 steps of an 8-step input
    only(
        """\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(8, 2))
        x = layers.Conv1D(16, 3, dilation_rate=4)(inputs)
        model = keras.Model(inputs, layers.GlobalMaxPooling1D()(x))
        """,
        "KF402",
    )


def test_kf402_pooling_window_longer_than_the_sequence():
    only(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([keras.Input(shape=(3, 16)), layers.MaxPooling1D(pool_size=4), layers.Flatten()])
        """,
        "KF402",
    )


def test_kf402_cropping_everything():
    only(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([keras.Input(shape=(10, 10, 3)), layers.Cropping2D(cropping=((5, 5), (0, 0)))])
        """,
        "KF402",
    )


# --- KF403 wrong input rank ----------------------------------------------------------------------------


def test_kf403_conv2d_on_a_flat_vector():
    finding = only(
        """\
        import keras
        from keras import layers

        model = keras.Sequential()
        model.add(keras.Input(shape=(784,)))
        model.add(layers.Dense(256, activation="relu"))
        model.add(layers.Conv2D(32, (3, 3), activation="relu"))
        """,
        "KF403",
    )
    assert finding.location.row == 7
    assert "(None, 256)" in finding.message


def test_kf403_conv2d_after_reshape_is_silent():
    silent(
        """\
        import keras
        from keras import layers

        model = keras.Sequential()
        model.add(keras.Input(shape=(784,)))
        model.add(layers.Reshape((28, 28, 1)))
        model.add(layers.Conv2D(32, (3, 3), activation="relu"))
        """
    )


def test_kf403_lstm_on_two_dimensional_input():
    finding = only(
        """\
        from tensorflow import keras

        model = keras.Sequential([
            keras.layers.Input(shape=(100,)),
            keras.layers.LSTM(64),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        """,
        "KF403",
    )
    assert finding.location.row == 5


def test_kf403_lstm_after_dense_in_a_functional_model():
    only(
        """\
        import keras
        from keras import layers

        features = keras.Input(shape=(12,))
        hidden = layers.Dense(32)(features)
        encoded = layers.LSTM(16)(hidden)
        model = keras.Model(features, layers.Dense(1)(encoded))
        """,
        "KF403",
    )


def test_kf403_lstm_after_embedding_is_silent():
    silent(
        """\
        from tensorflow import keras

        model = keras.Sequential([
            keras.layers.Input(shape=(100,)),
            keras.layers.Embedding(10000, 64),
            keras.layers.LSTM(64),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        """
    )


def test_kf403_conv1d_on_images():
    only(
        """\
        import keras
        from keras import layers

        images = keras.Input(shape=(64, 64, 3))
        x = layers.Conv1D(8, 3)(images)
        model = keras.Model(images, x)
        """,
        "KF403",
    )


# --- KF202 merge layer in a Sequential -----------------------------------------------------------------


def test_kf202_concatenate_added_to_a_sequential():
    finding = only(
        """\
        from keras.models import Sequential
        from keras.layers import Concatenate, Dense

        model = Sequential()
        model.add(Dense(32, input_shape=(16,)))
        model.add(Dense(32))
        model.add(Concatenate())
        model.add(Dense(1))
        """,
        "KF202",
    )
    assert finding.location.row == 7


def test_kf202_add_in_a_sequential_list():
    found = graph_findings(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Add(), layers.Dense(1)])
        """
    )
    assert "KF202" in [f.code for f in found]


# --- KF203 the same layer twice in a Sequential --------------------------------------------------------


def test_kf203_one_dense_instance_added_twice():
    finding = only(
        """\
        import keras
        from keras import layers

        hidden = layers.Dense(64, activation="relu")
        model = keras.Sequential()
        model.add(keras.Input(shape=(64,)))
        model.add(hidden)
        model.add(layers.Dropout(0.2))
        model.add(hidden)
        model.add(layers.Dense(1))
        """,
        "KF203",
    )
    assert finding.location.row == 9


def test_kf203_new_instances_created_in_a_loop_are_silent():
    silent(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([keras.Input(shape=(64,))])
        for _ in range(3):
            model.add(layers.Dense(64, activation="relu"))
        model.add(layers.Dense(1))
        """
    )


# --- KF204 input shape on a later layer ----------------------------------------------------------------

LATER_INPUT_SHAPE = """\
    from keras.models import Sequential
    from keras.layers import Dense, Dropout

    model = Sequential()
    model.add(Dense(64, input_dim=20, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation="relu", input_dim=64))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax", input_shape=(64,)))
"""


def test_kf204_input_dim_and_input_shape_on_later_layers():
    found = graph_findings(LATER_INPUT_SHAPE)
    assert [(f.code, f.location.row) for f in found] == [("KF204", 7), ("KF204", 9)]


def test_kf204_fix_removes_only_the_ignored_arguments():
    expected = textwrap.dedent(LATER_INPUT_SHAPE).replace(', input_dim=64', "").replace(', input_shape=(64,)', "")
    assert fixed(LATER_INPUT_SHAPE) == expected
    silent(expected)


def test_kf204_fix_in_a_sequential_list():
    before = """\
        import keras
        from keras import layers

        model = keras.Sequential([
            layers.Conv2D(32, 3, input_shape=(28, 28, 1)),
            layers.Flatten(input_shape=(26, 26, 32)),
            layers.Dense(10),
        ])
        """
    assert fixed(before) == textwrap.dedent(before).replace("layers.Flatten(input_shape=(26, 26, 32))", "layers.Flatten()")


# --- KF205 Model(inputs=<not an Input>) ----------------------------------------------------------------


def test_kf205_inputs_taken_after_a_layer():
    finding = only(
        """\
        import keras
        from keras import layers

        raw = keras.Input(shape=(32,))
        normalized = layers.BatchNormalization()(raw)
        hidden = layers.Dense(16, activation="relu")(normalized)
        output = layers.Dense(1)(hidden)
        model = keras.Model(inputs=normalized, outputs=output)
        """,
        "KF205",
    )
    assert finding.location.row == 8


def test_kf205_one_of_several_inputs_is_computed():
    found = graph_findings(
        """\
        import keras
        from keras import layers

        image = keras.Input(shape=(16,))
        meta = keras.Input(shape=(4,))
        meta_features = layers.Dense(8)(meta)
        merged = layers.concatenate([image, meta_features])
        model = keras.Model([image, meta_features], layers.Dense(1)(merged))
        """
    )
    assert "KF205" in [f.code for f in found]


# --- KF206 layer called on a layer ---------------------------------------------------------------------


def test_kf206_forgotten_call_on_the_previous_layer():
    finding = only(
        """\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(10,))
        hidden = layers.Dense(32, activation="relu")
        outputs = layers.Dense(1)(hidden)
        """,
        "KF206",
    )
    assert finding.location.row == 6


def test_kf206_layer_called_on_a_model_object():
    found = graph_findings(
        """\
        import keras
        from keras import layers

        encoder = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32)])
        classifier_head = layers.Dense(10)(encoder)
        """
    )
    assert [f.code for f in found] == ["KF206"]


def test_kf206_layer_called_on_a_model_output_is_silent():
    silent(
        """\
        import keras
        from keras import layers

        encoder = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32)])
        probabilities = layers.Dense(10)(encoder.output)
        classifier = keras.Model(encoder.input, probabilities)
        """
    )


# --- KF207 forgotten output branch ---------------------------------------------------------------------


def test_kf207_auxiliary_output_left_out_of_outputs():
    finding = only(
        """\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(64,))
        shared = layers.Dense(32, activation="relu")(inputs)
        main_output = layers.Dense(1, name="main")(shared)
        aux_output = layers.Dense(5, activation="softmax", name="aux")(shared)
        model = keras.Model(inputs=inputs, outputs=main_output)
        model.compile(optimizer="adam", loss={"main": "mse", "aux": "categorical_crossentropy"})
        """,
        "KF207",
    )
    assert finding.location.row == 7
    assert "aux" in finding.message


def test_kf207_lstm_states_feeding_a_decoder_are_used():
    # the encoder's sequence output and the decoder's states are deliberately unused: the states of
    # the encoder carry the information, through initial_state=
    silent(
        """\
        import keras
        from keras.layers import Dense, Input, LSTM

        encoder_inputs = Input(shape=(None, 40))
        encoder_outputs, state_h, state_c = LSTM(64, return_state=True)(encoder_inputs)
        decoder_inputs = Input(shape=(None, 50))
        decoder_outputs, _, _ = LSTM(64, return_sequences=True, return_state=True)(
            decoder_inputs, initial_state=[state_h, state_c]
        )
        outputs = Dense(50, activation="softmax")(decoder_outputs)
        model = keras.Model([encoder_inputs, decoder_inputs], outputs)
        """
    )


# --- KF208 disconnected graph --------------------------------------------------------------------------


def test_kf208_second_input_never_used():
    finding = only(
        """\
        import keras
        from keras import layers

        text = keras.Input(shape=(100,))
        numbers = keras.Input(shape=(6,))
        x = layers.Embedding(5000, 16)(text)
        x = layers.GlobalAveragePooling1D()(x)
        model = keras.Model(inputs=[text, numbers], outputs=layers.Dense(1)(x))
        """,
        "KF208",
    )
    assert finding.location.row == 8


def test_kf208_output_computed_from_another_input():
    found = graph_findings(
        """\
        import keras
        from keras import layers

        first = keras.Input(shape=(8,))
        second = keras.Input(shape=(8,))
        out = layers.Dense(1)(layers.Dense(4)(second))
        model = keras.Model(first, out)
        """
    )
    assert "KF208" in [f.code for f in found]


def test_kf208_siamese_shared_layer_is_connected():
    # both inputs reach the output through the two calls of one shared layer
    silent(
        """\
        import keras
        from keras import layers

        tower = layers.Dense(64, activation="relu")
        left = keras.Input(shape=(128,))
        right = keras.Input(shape=(128,))
        distance = layers.Subtract()([tower(left), tower(right)])
        model = keras.Model([left, right], layers.Dense(1, activation="sigmoid")(distance))
        """
    )


def test_kf208_encoder_model_applied_to_two_inputs_is_connected():
    silent(
        """\
        import keras
        from keras import layers

        x = keras.Input(shape=(20,))
        encoder = keras.Model(x, layers.Dense(8)(x))
        a = keras.Input(shape=(20,))
        b = keras.Input(shape=(20,))
        model = keras.Model([a, b], layers.Dot(axes=1)([encoder(a), encoder(b)]))
        """
    )


# --- KF209 single chain (off by default) ---------------------------------------------------------------

CHAIN = """\
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(16, 3, activation="relu")(inputs)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
"""


def test_kf209_not_reported_by_default():
    assert "KF209" not in registry.default_codes()
    assert "KF209" not in [f.code for f in findings(CHAIN, registry.default_codes())]


def test_kf209_reported_when_selected():
    assert [f.code for f in findings(CHAIN, frozenset({"KF209"}))] == ["KF209"]


def test_kf209_cli_only_with_select(tmp_path):
    program = tmp_path / "chain.py"
    program.write_text(textwrap.dedent(CHAIN), encoding="utf-8")
    default = cli("check", "--isolated", "--no-cache", str(program))
    assert "KF209" not in default.stdout
    selected = cli("check", "--isolated", "--no-cache", "--extend-select", "KF209", str(program))
    assert selected.returncode == 1 and "KF209" in selected.stdout


def test_kf209_branching_model_is_not_a_chain():
    branched = CHAIN.replace(
        "outputs = layers.Dense(10, activation=\"softmax\")(x)",
        "outputs = layers.Dense(10, activation=\"softmax\")(layers.concatenate([x, layers.Flatten()(inputs)]))",
    )
    assert findings(branched, frozenset({"KF209"})) == []


def test_kf209_chain_with_a_shared_layer_is_not_a_sequential():
    shared = """\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(16,))
        block = layers.Dense(16, activation="relu")
        x = block(inputs)
        x = block(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
        """
    assert findings(shared, frozenset({"KF209"})) == []


# --- KF201 Keras 1 Merge of Sequentials, migrated and built under Keras 3 ------------------------------

KERAS1_MERGE = """\
# Keras 1 two-input classifier: an image-feature tower and a metadata tower joined with Merge.
import numpy as np
from keras.models import Sequential
from keras.layers import Dense, Dropout, Merge

image_branch = Sequential()
image_branch.add(Dense(64, input_dim=784, activation='relu'))
image_branch.add(Dropout(0.3))

meta_branch = Sequential()
meta_branch.add(Dense(32, input_dim=100, activation='relu'))
meta_branch.add(Dense(32, activation='relu'))

model = Sequential()
model.add(Merge([image_branch, meta_branch], mode='concat'))
model.add(Dense(10, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='rmsprop', metrics=['accuracy'])

if __name__ == '__main__':
    images = np.random.random((32, 784))
    meta = np.random.random((32, 100))
    labels = np.random.random((32, 10))
    model.fit([images, meta], labels, nb_epoch=1, batch_size=8)
"""
# By hand: Dense(64) on 784: 784*64 + 64 = 50240; Dense(32) on 100: 100*32 + 32 = 3232;
# Dense(32) on 32: 32*32 + 32 = 1056; concat 64 + 32 = 96; Dense(10) on 96: 96*10 + 10 = 970.
KERAS1_MERGE_PARAMS = 50240 + 3232 + 1056 + 970  # 55498


def test_kf201_reported_on_the_keras1_program():
    codes = [f.code for f in findings(KERAS1_MERGE)]
    assert "KF201" in codes


def test_kf201_migrated_program_has_the_same_static_parameter_count():
    from kerasfix.summary import summarise_source

    migrated = fixed(KERAS1_MERGE, unsafe=True)
    models = {record["name"]: record for record in summarise_source(migrated)}
    assert models["model"]["kind"] == "Functional"
    assert models["model"]["total_params"] == KERAS1_MERGE_PARAMS


@pytest.mark.tensorflow
def test_kf201_migrated_program_builds_with_the_same_parameter_count(tmp_path):
    program = tmp_path / "merge_towers.py"
    program.write_text(KERAS1_MERGE, encoding="utf-8")
    result = cli("migrate", "--unsafe-fixes", "--isolated", "--no-cache", str(program))
    # exit 1 only means other findings remain; this test is about the KF201 rewrite
    assert result.returncode in (0, 1) and "KF201" in result.stdout, result.stdout + result.stderr
    migrated = program.read_text(encoding="utf-8")
    assert "Merge(" not in migrated
    assert "KF201" not in [f.code for f in findings(migrated)]

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    namespace = {"__name__": "migrated_fixture"}
    exec(compile(migrated, str(program), "exec"), namespace)  # noqa: S102 - our own test program
    model = namespace["model"]
    assert isinstance(model, keras.Model)
    assert len(model.inputs) == 2
    assert model.count_params() == KERAS1_MERGE_PARAMS
    assert tuple(model.output.shape) == (None, 10)


def test_a_builder_that_defines_functions_of_its_own():
    # found in keras's own tests: a builder function that defines a helper while it runs
    from kerasfix.summary import summarise_source

    code = textwrap.dedent(
        """\
        import keras

        def build(units=8):
            def head(x):
                return keras.layers.Dense(1)(x)
            inputs = keras.Input(shape=(4,))
            return keras.Model(inputs, head(keras.layers.Dense(units)(inputs)))
        """
    )
    models = {record["name"]: record for record in summarise_source(code)}
    assert models["build()"]["total_params"] == (4 * 8 + 8) + (8 + 1)
