"""Keras 1/2's `K.function(inputs, outputs)` as the original program sees it under verify, in every oracle: a
callable taking a list of arrays (one per input, the learning phase included where the program passed
`K.learning_phase()` among the inputs) and returning a list of arrays, which also says which model it runs, so
that verify can compare it with the Keras model the migration made of it (KF375). No Keras import: the compatibility
layer (Keras 3) and the tf-keras oracle each give it the model and a way to run it."""

from __future__ import annotations

from typing import Any, Callable


class BackendFunction:
    """`K.function(inputs, outputs)`: `model` is the model from `inputs` (the tensors, without the learning phase)
    to `outputs`; `phase_at` the positions of the learning phase among the inputs the program gave; `run(values,
    training)` runs the model on the tensors' values, in training mode when the learning phase given is 1."""

    def __init__(self, model: Any, phase_at: list[int], run: Callable[[list, bool], list]) -> None:
        self.model = model
        self.phase_at = list(phase_at)
        self._run = run

    def __call__(self, values):
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        phase = [values[index] for index in self.phase_at if index < len(values)]
        tensors = [value for index, value in enumerate(values) if index not in self.phase_at]
        return self._run(tensors, bool(phase and phase[0]))

    def arguments(self, arrays: list) -> list:
        """What the program passes for `arrays` in inference: the arrays, with learning phase 0 where it goes."""
        values, rest = [], list(arrays)
        for index in range(len(arrays) + len(self.phase_at)):
            values.append(0 if index in self.phase_at else rest.pop(0))
        return values


def learning_phase_positions(inputs: list) -> list[int]:
    """Where the learning phase stands among `K.function`'s inputs: `K.learning_phase()` is the number 0 or 1 both
    in eager tf-keras and in the compatibility layer (Keras 2 in a TensorFlow 1 graph gave a placeholder)."""
    return [index for index, value in enumerate(inputs) if isinstance(value, (bool, int))]


def note(name: str, function: BackendFunction) -> str:
    phase = " (learning phase 0, as the program gives it)" if function.phase_at else ""
    return (f"in the original, {name} is a backend function (K.function), which the migration made a Keras model: "
            f"compared with the model it runs (its layers and weights), and its outputs called as the program calls "
            f"it{phase} on the migrated model's batch")
