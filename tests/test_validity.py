"""KF301/KF302/KF383 (unknown names and arguments), KF303 (legacy module paths) and the KF38x transforms:
the cases the rule examples do not pin down."""

from __future__ import annotations

import libcst as cst
import pytest

from conftest import findings as engine_findings, migrate as engine_migrate
from kerasfix import registry
from kerasfix.checks import modules, validity


def findings(text: str, select: str = "ALL") -> list[tuple[int, int, str, str]]:
    return [(f.location.row, f.location.column, f.code, f.message) for f in engine_findings(text, select)]


def codes(text: str, select: str = "ALL") -> list[str]:
    return [code for _, _, code, _ in findings(text, select)]


def migrate(text: str, select: str = "ALL", unsafe: bool = False, target: str = "tf.keras") -> str:
    return engine_migrate(text, select, unsafe=unsafe, target=target)


# --- KF303 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("from keras.layers.convolutional import Conv2D, MaxPooling2D\n", "from keras.layers import Conv2D, MaxPooling2D\n"),
        ("from keras.layers.recurrent import LSTM\n", "from keras.layers import LSTM\n"),
        ("from keras.layers.normalization import BatchNormalization\n", "from keras.layers import BatchNormalization\n"),
        ("from keras.layers.advanced_activations import LeakyReLU, PReLU\n", "from keras.layers import LeakyReLU, PReLU\n"),
        ("from keras.layers.embeddings import Embedding\n", "from keras.layers import Embedding\n"),
        ("from keras.layers.noise import GaussianNoise\n", "from keras.layers import GaussianNoise\n"),
        ("from keras.layers.wrappers import Bidirectional, TimeDistributed\n", "from keras.layers import Bidirectional, TimeDistributed\n"),
        ("from keras.layers.merge import concatenate, Add\n", "from keras.layers import concatenate, Add\n"),
        ("from keras.utils.generic_utils import Progbar\n", "from keras.utils import Progbar\n"),
        ("from keras.objectives import categorical_crossentropy\n", "from keras.losses import categorical_crossentropy\n"),
        ("from keras.engine.training import Model\n", "from keras.models import Model\n"),
        ("from tensorflow.keras.optimizers.legacy import Adam\n", "from tensorflow.keras.optimizers import Adam\n"),
        ("from tensorflow.python.keras.layers.core import Dense\n", "from tensorflow.keras.layers import Dense\n"),
        ("from keras.layers.pooling import *\n", "from keras.layers import *\n"),
        ("from keras import objectives\nf = objectives.mean_squared_error\n", "from keras import losses as objectives\nf = objectives.mean_squared_error\n"),
        ("from keras.layers import core\nd = core.Dense(1)\n", "from keras import layers as core\nd = core.Dense(1)\n"),
        (
            "from tensorflow.keras.layers.experimental import preprocessing\nn = preprocessing.Normalization()\n",
            "from tensorflow.keras import layers as preprocessing\nn = preprocessing.Normalization()\n",
        ),
        ("import keras.utils.np_utils as np_utils\n", "import keras.utils as np_utils\n"),
        # tf.keras 2's backend_config (epsilon, floatx, image_data_format) is Keras 3's keras.config
        ("from tensorflow.keras import backend_config\neps = backend_config.epsilon()\n",
         "from tensorflow.keras import config as backend_config\neps = backend_config.epsilon()\n"),
        ("import keras.layers.core\nd = keras.layers.core.Dense(1)\n", "import keras.layers\nd = keras.layers.Dense(1)\n"),
        ("import tensorflow as tf\nx = tf.keras.engine.topology.Layer\n", "import tensorflow as tf\nx = tf.keras.layers.Layer\n"),
        ("from keras import layers as KL\nd = KL.core.Dense(1)\n", "from keras import layers as KL\nd = KL.Dense(1)\n"),
    ],
)
def test_legacy_module_paths_are_rewritten(before: str, after: str) -> None:
    assert "KF303" in codes(before)
    assert migrate(before, select="KF303") == after


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # TensorFlow's private copy of Keras 2 through its public root (deepctr imports LSTM this way)
        ("from tensorflow.python.keras.layers import LSTM, Layer\n", "from tensorflow.keras.layers import LSTM, Layer\n"),
        ("from tensorflow.python.keras import backend as K\n", "from tensorflow.keras import backend as K\n"),
        ("import tensorflow.python.keras.layers as L\nd = L.Dense(1)\n", "import tensorflow.keras.layers as L\nd = L.Dense(1)\n"),
        ("import os, tensorflow.python.keras.models\n", "import os, tensorflow.keras.models\n"),
    ],
)
def test_private_keras_paths_are_spelled_through_the_public_root(before: str, after: str) -> None:
    assert codes(before) == ["KF304"]
    assert migrate(before, select="KF304") == after


def test_a_private_module_keras_3_lacks_and_a_legacy_one_below_the_private_root_are_not_kf304() -> None:
    assert "KF304" not in codes("from tensorflow.python.keras.engine.topology import Layer\n")
    assert codes("from tensorflow.python.keras.engine.topology import Layer\n") == ["KF303"]
    assert "KF304" not in codes("from tensorflow.python.keras.utils.tf_utils import smart_cond\n")


def test_names_with_another_home_are_split_keeping_comments_and_parentheses() -> None:
    before = (
        "if True:\n"
        "    from keras.engine.topology import (\n"
        "        Input as I,  # the input\n"
        "        Model,  # the model\n"
        "        Layer,\n"
        "    )\n"
    )
    after = (
        "if True:\n"
        "    from keras.layers import (\n"
        "        Input as I,  # the input\n"
        "        Layer,\n"
        "    )\n"
        "    from keras.models import (\n"
        "        Model,  # the model\n"
        "    )\n"
    )
    assert migrate(before, select="KF303") == after


def test_split_on_a_line_of_several_statements() -> None:
    before = "import os; from keras.engine.topology import Input, Model; import sys\n"
    after = "import os; from keras.layers import Input; from keras.models import Model; import sys\n"
    assert migrate(before, select="KF303") == after


def test_a_module_and_a_name_from_one_statement() -> None:
    before = "from keras.utils import np_utils, to_categorical\ny = np_utils.to_categorical(x)\n"
    after = "from keras import utils as np_utils\nfrom keras.utils import to_categorical\ny = np_utils.to_categorical(x)\n"
    assert migrate(before, select="KF303") == after


def test_names_keras3_lacks_block_the_fix() -> None:
    text = "from keras.layers.core import Dense, NoSuchLayer\n"
    (row, column, code, message), = findings(text, "KF303")
    assert (row, column, code) == (1, 1, "KF303")
    assert "`keras.layers.NoSuchLayer`" in message
    assert migrate(text, select="KF303") == text


def test_a_removed_layer_blocks_the_fix() -> None:
    # LocallyConnected2D is known to a rule (KF335 reports it) but Keras 3 has it nowhere: moving the
    # import to keras.layers would only trade one ImportError for another
    text = "from keras.layers.local import LocallyConnected2D\nlayer = LocallyConnected2D(4, (3, 3))\n"
    assert sorted(codes(text)) == ["KF303", "KF335"]
    assert "`keras.layers.LocallyConnected2D`" in findings(text, "KF303")[0][3]
    assert migrate(text, unsafe=True) == text
    renamed = "from keras.layers.convolutional import Convolution2D\n"
    assert migrate(renamed, select="KF303") == "from keras.layers import Convolution2D\n"


def test_a_renamed_name_is_named() -> None:
    (_, _, _, message), = findings("from keras.engine.topology import Container\n", "KF303")
    assert "`Container` (it is `keras.Model`)" in message


def test_attributes_of_a_module_alias_must_exist() -> None:
    text = "from keras.utils import np_utils\nc = np_utils.probas_to_classes(p)\n"
    (_, _, _, message), = findings(text, "KF303")
    assert "`keras.utils.probas_to_classes`" in message
    assert migrate(text, select="KF303") == text


def test_unknown_member_of_a_spelled_out_path_is_reported_without_fix() -> None:
    text = "import keras\nf = keras.objectives.mse\n"
    assert codes(text, "KF303") == ["KF303"]
    assert migrate(text, select="KF303") == text


def test_scikit_learn_wrappers_are_reported() -> None:
    for text in (
        "from keras.wrappers.scikit_learn import KerasClassifier\n",
        "from tensorflow.keras.wrappers.scikit_learn import KerasRegressor\n",
        "import keras.wrappers.scikit_learn as skw\n",
        "from keras.wrappers import scikit_learn\n",
        "import keras\nc = keras.wrappers.scikit_learn.KerasClassifier(build_fn=f)\n",
    ):
        found = findings(text)
        assert [code for _, _, code, _ in found] == ["KF303"], text
        assert "SciKeras" in found[0][3] and "SKLearnClassifier" in found[0][3]
        assert migrate(text) == text


def test_merge_imported_from_layers_is_left_to_kf101() -> None:
    assert "KF303" not in codes("from keras.layers import merge\nx = merge([a, b], mode='sum')\n")


def test_modern_imports_are_not_flagged() -> None:
    text = (
        "import keras\nfrom keras import layers, utils\nfrom keras.layers import Dense\n"
        "from tensorflow.keras.optimizers import Adam\nfrom keras.utils import to_categorical\n"
    )
    assert findings(text) == []


def test_legacy_import_together_with_a_catalogue_rewrite() -> None:
    before = "from keras.layers.convolutional import Convolution2D\nc = Convolution2D(32, 3, 3)\n"
    after = "from keras.layers import Conv2D\nc = Conv2D(32, (3, 3))\n"
    assert migrate(before) == after


def test_import_style_follows_the_statement_not_the_target() -> None:
    before = "from keras.layers.core import Dense\n"
    assert migrate(before, select="KF303", target="tf.keras") == "from keras.layers import Dense\n"
    before = "from tensorflow.keras.layers.core import Dense\n"
    assert migrate(before, select="KF303", target="keras") == "from tensorflow.keras.layers import Dense\n"


def test_home_of_moved_names() -> None:
    assert modules.home("keras.engine.topology", "Model") == "keras.models"
    assert modules.home("keras.engine.topology", "Input") == "keras.layers"
    assert modules.home("keras.layers.core", "Dense") == "keras.layers"
    assert modules.home("keras.layers.core", "NoSuchLayer") is None


# --- KF301 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from keras import layers\nx = layers.Conv2D2D(32, 3)\n", "did you mean `Conv2D`?"),
        ("import keras\np = keras.layers.MaxPooling(2)\n", "did you mean `MaxPooling1D` or `MaxPooling2D` or `MaxPooling3D`?"),
        ("from tensorflow.keras.layers import Dense, Dropuot\n", "did you mean `Dropout`?"),
        ("from keras.layers import maxpooling2d\n", "did you mean `MaxPooling2D`?"),
        ("from keras import backend as K\nprint(K.flaotx())\n", "did you mean `floatx`?"),
        ("import tensorflow as tf\nb = tf.keras.layers.experimental.SyncBatchNormalization()\n", "is not part of Keras 3"),
        ("from keras.layerz import Dense\n", "`keras.layerz` is not part of Keras 3"),
        ("import keras.layerz\n", "`keras.layerz` is not part of Keras 3"),
    ],
)
def test_unknown_names(text: str, expected: str) -> None:
    found = [f for f in findings(text) if f[2] == "KF301"]
    assert len(found) == 1, found
    assert expected in found[0][3]


def test_a_keras_2_backend_function_is_left_to_its_own_rule() -> None:
    # `K.sum` is not a typo: KF376 rewrites it to `keras.ops.sum`, and KF301 does not report it too
    codes = [f[2] for f in findings("from keras import backend as K\ns = K.sum(x)\n")]
    assert codes == ["KF376"]


def test_unknown_name_points_at_the_name() -> None:
    (row, column, code, _), = findings("from keras.layers import Dense, Dropuot\n", "KF301")
    assert (row, column, code) == (1, 33, "KF301")


@pytest.mark.parametrize(
    "text",
    [
        "import keras\nprint(keras.__version__)\n",
        "import keras\nx = keras.ops.sum(y)\nz = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)\n",
        "from keras.layers import merge\n",  # another rule's (KF101)
        "from keras.layers import Convolution2D\n",
        "from keras.utils import np_utils\n",  # KF303's
        "import keras\nkeras.layers.Foo = MyLayer\n",  # assigning is not using
        "try:\n    from keras.layers import CuDNNLSTM\nexcept (ImportError, AttributeError):\n    CuDNNLSTM = None\n",
        "import numpy as np\nx = np.foo.bar\n",
        "import keras.src.layers.core.dense\n",
        "from keras.layers import experimental\n",
    ],
)
def test_names_kf301_leaves_alone(text: str) -> None:
    assert "KF301" not in codes(text)


def test_imports_in_an_except_branch_are_still_checked() -> None:
    text = "try:\n    import foo\nexcept ImportError:\n    from keras.layers import Dropuot\n"
    assert codes(text, "KF301") == ["KF301"]


def test_judge() -> None:
    assert validity.judge("tensorflow.keras.layers.Dense") is None
    assert validity.judge("keras.layers.Dense2") is not None
    assert validity.judge("keras.layers.core.Anything") is None


# --- KF302 / KF383 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from keras.layers import Dense\nd = Dense(10, activaton='relu')\n", "`Dense()` has no argument `activaton`; did you mean `activation`?"),
        ("from keras import layers\np = layers.MaxPooling2D(3, activation='relu')\n", "`MaxPooling2D()` has no argument `activation`"),
        ("from keras.utils import to_categorical\ny = to_categorical(l, 10, 'int32')\n", "takes at most 2 positional arguments"),
        ("from keras.layers import Dense\nd = Dense(10, units=3)\n", "gets `units` both positionally and by keyword"),
        ("from keras.callbacks import ReduceLROnPlateau\nr = ReduceLROnPlateau(epsilon=0.1)\n", "Keras 3 silently ignores it"),
        ("from keras.optimizers import Adam\no = Adam(learning_rat=0.1)\n", "did you mean `learning_rate`?"),
        ("from keras.callbacks import EarlyStopping\ne = EarlyStopping(patiense=3)\n", "did you mean `patience`?"),
        ("import keras\ni = keras.Input(shape=(3,), batch_input_shape=(None, 3))\n", "`Input()` has no argument `batch_input_shape`"),
        ("from keras.layers import concatenate\nc = concatenate([a, b], axis=1, nam='x')\n", "did you mean `name`?"),
        ("from keras.callbacks import TensorBoard\nt = TensorBoard(log_dir='logs', write_grads=True)\n", "has no argument `write_grads`"),
    ],
)
def test_unknown_arguments(text: str, expected: str) -> None:
    found = [f for f in findings(text) if f[2] == "KF302"]
    assert len(found) == 1, found
    assert expected in found[0][3]


@pytest.mark.parametrize(
    "text",
    [
        "import keras\nm = keras.Model(inputs=i, outputs=o, name='m')\n",
        "from keras.layers import Dense\nd = Dense(10, name='d', dtype='float32', trainable=False, input_shape=(3,), input_dim=3)\n",
        "from keras.layers import Dense\nd = Dense(output_dim=10, init='uniform')\n",  # KF310's
        "from keras.layers import Embedding\ne = Embedding(10, 3, input_length=5, weights=[m])\n",
        "from keras.layers import LeakyReLU, LSTM\na = LeakyReLU(alpha=0.1)\nl = LSTM(3, implementation=2)\n",
        "from keras.layers import RandomFlip, Conv2D\nf = RandomFlip(bounding_box_format='xyxy')\nc = Conv2D(2, 3, lora_rank=2)\n",
        "from keras.optimizers import SGD\ns = SGD(learning_rate=0.1, decay=1e-6, clipnorm=1.0)\n",
        "from keras.layers import Dot, dot\nd = dot([a, b], axes=1, normalize=True)\n",
        "from keras.layers import InputLayer\ni = InputLayer(batch_input_shape=(4, 3))\n",
        "from keras.callbacks import LambdaCallback\nc = LambdaCallback(on_epoch_end=f, whatever=2)\n",  # **kwargs we cannot check
        "from keras.layers import Dense\nd = Dense(*args, **kwargs)\nd = Dense(10, 'relu', **opts)\n",
        "import keras\nmodel.fit(x, y, epochs=1, anything=2)\n",  # methods are not checked
        "from keras.layers import Convolution2D\nc = Convolution2D(32, 3, 3, border_mode='same')\n",  # KF330's
    ],
)
def test_arguments_kf302_accepts(text: str) -> None:
    assert "KF302" not in codes(text), findings(text)


def test_unknown_argument_points_at_the_argument() -> None:
    (row, column, code, _), = findings("from keras.layers import Dense\nd = Dense(10, activaton='relu')\n", "KF302")
    assert (row, column, code) == (2, 15, "KF302")


@pytest.mark.parametrize("keyword", ["batch_input_shape", "batch_size", "weights", "input_dtype"])
def test_layer_construction_keywords(keyword: str) -> None:
    text = f"from keras.layers import LSTM\nl = LSTM(4, {keyword}=x)\n"
    assert codes(text) == ["KF383"]
    assert codes(f"from keras.layers import Dense\nd = Dense(4, {keyword}=x)\n") == ["KF383"]
    assert "KF302" in codes(f"import keras\ni = keras.Input(shape=(3,), {keyword}_x=x)\n")


def test_signatures() -> None:
    assert validity.signature("keras.Model").keywords is None
    assert "decay" in validity.signature("keras.optimizers.SGD").keywords
    assert "name" in validity.signature("keras.layers.concatenate").keywords
    assert validity.signature("keras.callbacks.ReduceLROnPlateau").swallows
    assert validity.signature("keras.layers.NoSuchLayer") is None


def test_close_matches() -> None:
    assert validity.close_matches("Conv2D2D", ["Conv1D", "Conv2D", "Conv3D", "Dense"]) == ["Conv2D"]
    assert validity.close_matches("dense", ["Dense", "dense_x"]) == ["Dense"]
    assert validity.close_matches("zzz", ["Dense"]) == []


# --- KF38x transforms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "suffix"),
    [
        ("'model.h5'", "model.h5"),
        ("f'{d}/model_{e}.keras'", ".keras"),
        ("d + '/model.h5'", "/model.h5"),
        ("os.path.join(d, 'm.weights.h5')", "m.weights.h5"),
        ("'model_{}.h5'.format(i)", "model_{}.h5"),
        ("'model_%d.h5' % i", "model_%d.h5"),
        ("Path(d) / 'model.keras'", "model.keras"),
        ("'model_{}'.format(i)", None),
        ("f'{d}/{name}'", None),
        ("path", None),
    ],
)
def test_path_suffix(expression: str, suffix: str | None) -> None:
    assert validity.path_suffix(cst.parse_expression(expression)) == suffix


def test_average_pooling_keeps_positional_and_keras1_sizes() -> None:
    text = (
        "from keras.layers import AveragePooling1D, AveragePooling3D\n"
        "a = AveragePooling1D(4)\nb = AveragePooling1D(pool_length=4)\nc = AveragePooling3D(**opts)\n"
    )
    assert "KF380" not in codes(text)
    assert migrate("from keras.layers import AveragePooling3D\np = AveragePooling3D(padding='same')\n", select="KF380") == (
        "from keras.layers import AveragePooling3D\np = AveragePooling3D(pool_size=(2, 2, 2), padding='same')\n"
    )


def test_save_format_variants() -> None:
    assert migrate("import keras\nkeras.saving.save_model(m, 'm.hdf5', save_format='h5')\n") == "import keras\nkeras.saving.save_model(m, 'm.hdf5')\n"
    unreadable = "import keras\nmodel.save(path, save_format='tf')\n"
    assert codes(unreadable) == ["KF382"] and migrate(unreadable, unsafe=True) == unreadable
    assert "KF382" not in codes("from PIL import Image\nimg.save('x.png', format='png')\n")


def test_save_path_needs_a_keras_model() -> None:
    assert codes("from keras.models import load_model\nm = load_model('a.h5')\nm.save('exported')\n") == ["KF384"]
    assert codes("import keras\nfrom keras.applications import VGG16\nnet = VGG16()\nnet.save('vgg')\n") == ["KF384"]
    subclass = "import keras\nclass Net(keras.Model):\n    pass\nnet = Net()\nnet.save('dir/')\n"
    assert codes(subclass) == ["KF384"]
    builder = "from keras.models import Sequential\ndef build():\n    return Sequential()\nmodel = build()\nmodel.save('m')\n"
    assert codes(builder) == ["KF384"]
    assert codes("import keras\nw2v = Word2Vec(sentences)\nw2v.save('w2v_model')\n") == []
    assert codes("from keras.models import Sequential\nmodel = Sequential()\nmodel.save(os.path.join(d, 'm.keras'))\n") == []


def test_save_weights_paths() -> None:
    assert codes("import keras\nmodel.save_weights(f'{d}/weights_{e}.hdf5')\n") == ["KF385"]
    assert codes("import keras\nmodel.save_weights(f'{d}/w_{e}.weights.h5')\nmodel.save_weights(path)\n") == []


def test_checkpoint_paths() -> None:
    assert codes("from keras.callbacks import ModelCheckpoint\nc = ModelCheckpoint('w.h5', 'val_loss', 0, True, True)\n") == ["KF387"]
    assert codes("from keras.callbacks import ModelCheckpoint\nc = ModelCheckpoint('best', save_weights_only=flag)\n") == ["KF387"]
    assert codes("from keras.callbacks import ModelCheckpoint\nc = ModelCheckpoint('best.weights.h5', save_weights_only=flag)\n") == []


def test_loss_per_output_only_for_one_loss() -> None:
    text = "import keras\nmodel.compile('sgd', 'mse', None, [1.0, 0.5])\n"
    assert migrate(text) == "import keras\nmodel.compile('sgd', ['mse', 'mse'], metrics=None, loss_weights=[1.0, 0.5])\n"
    custom = "import keras\ndef my_loss(y, p):\n    return y\nmodel.compile('sgd', loss=my_loss, loss_weights=[1, 2])\n"
    assert "loss=[my_loss, my_loss]" in migrate(custom)
    assert "KF388" not in codes("import keras\nmodel.compile('sgd', loss='mse', loss_weights=[1.0])\n")


def test_every_code_of_this_issue_is_registered_and_documented() -> None:
    specs = registry.all_specs()
    for code in ("KF301", "KF302", "KF303", "KF380", "KF381", "KF382", "KF383", "KF384", "KF385", "KF386", "KF387", "KF388", "KF389"):
        assert code in specs
        assert specs[code].explanation().startswith(f"# {code}")
    assert {"KF301", "KF302", "KF303", "KF383"} <= registry.default_codes()


def test_a_spelled_out_module_rename_keeps_continuation_lines_aligned() -> None:
    text = (
        "import keras.engine.training\n"
        "m = keras.engine.training.Model(inputs=[a, b],\n"
        "                                outputs=c)\n"
        "n = keras.engine.training.Model(\n"
        "    inputs=x, outputs=y)\n"
    )
    assert migrate(text, select="KF303") == (
        "import keras.models\n"
        "m = keras.models.Model(inputs=[a, b],\n"
        "                       outputs=c)\n"
        "n = keras.models.Model(\n"
        "    inputs=x, outputs=y)\n"
    )
