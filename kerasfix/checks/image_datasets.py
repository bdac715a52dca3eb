"""KF398: `ImageDataGenerator(rescale=...).flow_from_directory(...)` as `keras.utils.image_dataset_from_directory`
mapped through `keras.layers.Rescaling`, where the generator does nothing but rescale (no augmentation)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from kerasfix.checks.callargs import NOT_LITERAL, literal
from kerasfix.checks.callee import unspellable
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, remove_statement, replace_node
from kerasfix.spelling import spell

GENERATOR = "keras.preprocessing.image.ImageDataGenerator"
# flow_from_directory's parameters in order (Keras 2.2 to tf.keras 2.15), and the Keras 3 name of each
# one image_dataset_from_directory has with the same meaning
FLOW_PARAMS = ("directory", "target_size", "color_mode", "classes", "class_mode", "batch_size", "shuffle", "seed",
               "save_to_dir", "save_prefix", "save_format", "follow_links", "subset", "interpolation", "keep_aspect_ratio")
KERAS3_NAMES = {"directory": "directory", "target_size": "image_size", "color_mode": "color_mode", "classes": "class_names",
                "batch_size": "batch_size", "shuffle": "shuffle", "seed": "seed", "follow_links": "follow_links"}
LABEL_MODES = {"categorical": "'categorical'", "binary": "'binary'", "sparse": "'int'", None: "None"}
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")  # the PIL names Keras 3 (TensorFlow's resize) also has

DIFFERENCES = (
    "the dataset yields tensors and ends after one pass (the generator never ended: give `fit` no more "
    "`steps_per_epoch` than it has batches, or `.repeat()` it), shuffles with a buffer so the order differs "
    "for the same seed, and resizes with TensorFlow where Keras 2 used PIL"
)

KF398 = RuleSpec(
    code="KF398",
    name="flow-from-directory-to-dataset",
    summary="`ImageDataGenerator(rescale=...).flow_from_directory(...)` is `keras.utils.image_dataset_from_directory(...)` with `Rescaling`",
    fix_safety="unsafe",
    what=(
        "Rewrites `gen.flow_from_directory(directory, target_size=..., batch_size=..., class_mode=...)`, where `gen` is "
        "an `ImageDataGenerator` made with no argument but `rescale` and used nowhere else, to "
        "`keras.utils.image_dataset_from_directory(directory, image_size=..., batch_size=..., label_mode=..., "
        "interpolation='nearest')`, mapped through `keras.layers.Rescaling(rescale)` when `rescale` was given, and "
        "removes the generator. `class_mode` becomes `label_mode` ('categorical' and 'binary' keep their names, "
        "'sparse' is 'int', None stays None; left out, Keras 2's 'categorical' is written since Keras 3's default is "
        "'int'), `classes` becomes `class_names`, and Keras 2's default interpolation 'nearest' is written since "
        "Keras 3's is 'bilinear'. A generator with augmentation, `save_to_dir`, `subset`, `class_mode='input'` or a "
        "result whose attributes are read (`.class_indices`, `.samples`) is reported without a fix."
    ),
    why=(
        "Keras 3 has no `ImageDataGenerator` (`ImportError`). `keras.utils.image_dataset_from_directory` reads the "
        "same folder layout (one subfolder per class, in alphanumeric order) into batches of images and labels."
    ),
    fix_note=(
        "The fix is unsafe: " + DIFFERENCES + ". Labels differ in form: 'binary' labels have shape (batch, 1) where "
        "Keras 2's had (batch,), and 'sparse' ones are int32 where Keras 2's were float32."
    ),
    removed_in="3.0",
    examples=(
        Example(
            before=(
                "from keras.preprocessing.image import ImageDataGenerator\n\n"
                "test_datagen = ImageDataGenerator(rescale=1. / 255)\n"
                "validation = test_datagen.flow_from_directory('data/validation', target_size=(150, 150),\n"
                "                                              batch_size=32, class_mode='binary')\n"
            ),
            after=(
                "from keras.utils import image_dataset_from_directory\n"
                "from keras.layers import Rescaling\n\n"
                "validation = image_dataset_from_directory('data/validation', image_size=(150, 150), batch_size=32, "
                "label_mode='binary', interpolation='nearest').map(lambda images, labels: (Rescaling(1. / 255)(images), labels))\n"
            ),
            unsafe=True,
            target="keras",
        ),
        Example(
            before=(
                "from keras.preprocessing.image import ImageDataGenerator\n\n"
                "datagen = ImageDataGenerator(rescale=1. / 255)\n"
                "train = datagen.flow_from_directory('data/train', save_to_dir='augmented')\n"
            ),
        ),
        Example(
            before=(
                "import keras\n\n"
                "validation = keras.utils.image_dataset_from_directory('data/validation', image_size=(150, 150))\n"
            ),
            valid=True,
        ),
    ),
)


@dataclass
class _Flow:
    call: cst.Call
    generator: str  # the name the generator is bound to
    result: str | None  # the name the flow is assigned to, if it is


class ImageDatasetChecker(Checker):
    specs = (KF398,)
    tokens = ("flow_from_directory",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._flows: list[_Flow] = []
        self._assigned: dict[str, list[cst.SimpleStatementLine | None]] = {}
        self._names: dict[str, int] = {}
        self._read_attributes: set[str] = set()
        self._line: cst.SimpleStatementLine | None = None

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node if len(node.body) == 1 else None

    def visit_Name(self, node: cst.Name) -> None:
        self._names[node.value] = self._names.get(node.value, 0) + 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name):
            self._read_attributes.add(node.value.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                whole = self._line if self._line is not None and self._line.body[0] is node and len(node.targets) == 1 else None
                self._assigned.setdefault(target.target.value, []).append(whole)
        value = node.value
        if (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "flow_from_directory"
                and isinstance(value.func.value, cst.Name)):
            result = node.targets[0].target.value if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) else None
            self._flows.append(_Flow(value, value.func.value.value, result))

    def finish(self) -> None:
        for flow in self._flows:
            made = self._generator(flow.generator)
            if made is None:
                continue
            statement, rescale = made
            reason = self._unsupported(flow)
            if reason is not None:
                self.report(flow.call, "KF398", f"{KF398.summary}; no fix: {reason}")
                continue
            fix = self._fix(flow, statement, rescale)
            if isinstance(fix, str):
                self.report(flow.call, "KF398", f"{KF398.summary}; {fix}")
            else:
                self.report(flow.call, "KF398", f"{KF398.summary}; {DIFFERENCES}", fix)

    def _generator(self, name: str) -> tuple[cst.SimpleStatementLine, cst.BaseExpression | None] | None:
        """The statement `name = ImageDataGenerator(rescale=...)` and its rescale, when the generator is made
        once, does nothing else, and is used only by the one flow call; else None."""
        assigned = self._assigned.get(name, [])
        if len(assigned) != 1 or assigned[0] is None or self._names.get(name) != 2:
            return None
        statement = assigned[0]
        value = statement.body[0].value
        if not (isinstance(value, cst.Call) and self.ctx.qualified(value.func) == GENERATOR):
            return None
        if any(arg.keyword is None or arg.keyword.value != "rescale" for arg in value.args):
            return None  # augmentation, normalisation, validation_split: not this rewrite
        rescale = value.args[0].value if value.args else None
        return statement, rescale

    def _unsupported(self, flow: _Flow) -> str | None:
        if flow.result is not None and flow.result in self._read_attributes:
            return f"`{flow.result}` has its attributes read (`.class_indices`, `.samples`...), which a dataset does not have"
        bound = self._bound(flow.call)
        if bound is None:
            return "its arguments cannot be read here"
        if "directory" not in bound:
            return "it is given no directory"
        for name in ("save_to_dir", "save_prefix", "save_format", "subset", "keep_aspect_ratio"):
            if name in bound:
                return f"`{name}` has no counterpart in `image_dataset_from_directory`"
        mode = literal(bound["class_mode"]) if "class_mode" in bound else "categorical"
        if mode is NOT_LITERAL or mode not in LABEL_MODES:
            return "`class_mode` must be 'categorical', 'binary', 'sparse' or None"
        if "interpolation" in bound and literal(bound["interpolation"]) not in INTERPOLATIONS:
            return "only the interpolations 'nearest', 'bilinear' and 'bicubic' are the same in Keras 3"
        return None

    @staticmethod
    def _bound(call: cst.Call) -> dict[str, cst.BaseExpression] | None:
        bound: dict[str, cst.BaseExpression] = {}
        for arg in call.args:
            if arg.star:
                return None
            if arg.keyword is None:
                if bound:
                    return None  # only `directory` is taken by position here
                bound["directory"] = arg.value
            elif arg.keyword.value in FLOW_PARAMS and arg.keyword.value not in bound:
                bound[arg.keyword.value] = arg.value
            else:
                return None
        return bound

    def _fix(self, flow: _Flow, statement: cst.SimpleStatementLine, rescale: cst.BaseExpression | None):
        ctx = self.ctx
        loader = spell(ctx, "keras.utils.image_dataset_from_directory", flow.call)
        if loader is None:
            return unspellable("keras.utils.image_dataset_from_directory")
        spellings = [loader]
        if rescale is not None:
            rescaling = spell(ctx, "keras.layers.Rescaling", flow.call)
            if rescaling is None:
                return unspellable("keras.layers.Rescaling")
            spellings.append(rescaling)
        bound = self._bound(flow.call) or {}
        mode = literal(bound["class_mode"]) if "class_mode" in bound else "categorical"
        parts = [ctx.code_for(bound["directory"])]
        for name, value in bound.items():
            if name in KERAS3_NAMES and name != "directory":
                parts.append(f"{KERAS3_NAMES[name]}={ctx.code_for(value)}")
        parts.append(f"label_mode={LABEL_MODES[mode]}")
        parts.append(f"interpolation={ctx.code_for(bound['interpolation'])}" if "interpolation" in bound else "interpolation='nearest'")
        text = f"{loader.text}({', '.join(parts)})"
        if rescale is not None:
            layer = f"{spellings[1].text}({ctx.code_for(rescale)})"
            text += (f".map(lambda images: {layer}(images))" if mode is None
                     else f".map(lambda images, labels: ({layer}(images), labels))")
        removal = remove_statement(ctx, statement)
        if removal is None:
            return f"no fix: the generator's statement shares its line ({DIFFERENCES})"
        edits = [replace_node(ctx, flow.call, cst.parse_expression(text)), removal]
        generator_call = statement.body[0].value
        releases = [generator_call.func.value] if isinstance(generator_call.func, cst.Name) else []
        return make_fix("unsafe", f"Use `{loader.text}(...)`" + (" with `Rescaling`" if rescale is not None else ""), edits,
                        [r for s in spellings for r in s.requires], releases, [s.written for s in spellings])
