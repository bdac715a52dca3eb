"""Which device models train on: `--device auto|cpu|gpu` against the GPUs TensorFlow sees (no TF import here)."""

from __future__ import annotations


class DeviceError(Exception):
    """A device was asked for that this machine does not have."""


def choose(requested: str, gpus: list[str]) -> str:
    """A TensorFlow device name for `with tf.device(...)`.

    `gpus` is what `tf.config.list_physical_devices('GPU')` returned (their names); `auto` takes the first
    GPU when there is one, else the CPU.
    """
    if requested == "cpu":
        return "/CPU:0"
    if requested == "gpu":
        if not gpus:
            raise DeviceError(
                "--device gpu: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is empty); "
                "install kerasfix's gpu extra (`pip install '.[gpu]'` in a clone of kerasfix) on a machine with a CUDA GPU, or use --device cpu"
            )
        return "/GPU:0"
    if requested == "auto":
        return "/GPU:0" if gpus else "/CPU:0"
    raise DeviceError(f"unknown device {requested!r} (choose auto, cpu or gpu)")


def worker_environment(requested: str) -> dict[str, str]:
    """Environment for the worker: `cpu` hides GPUs so TensorFlow does not initialise CUDA at all."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_BACKEND": "tensorflow",
           "KERASFIX_VERIFY_DEVICE": requested}
    if requested == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = "-1"
    return env
