"""Where training runs: backend, device, package versions, and determinism."""

from __future__ import annotations

import os
import platform
from importlib import metadata

import keras


def backend() -> str:
    return keras.backend.backend()


def gpu_names() -> list[str]:
    """Names of the accelerators the active Keras backend can see (empty on CPU)."""
    name = backend()
    if name == "jax":
        import jax

        return [f"{d.platform}:{getattr(d, 'device_kind', d)}" for d in jax.devices() if d.platform != "cpu"]
    if name == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if name == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def describe_device() -> str:
    gpus = gpu_names()
    return f"GPU ({', '.join(gpus)})" if gpus else f"CPU ({os.cpu_count()} cores)"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    """What a reader needs to reproduce a number: backend, device, versions."""
    packages = ("vaebench", "keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy", "scikit-learn")
    return {
        "backend": backend(),
        "device": describe_device(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        **{name: version for name in packages if (version := _version(name))},
    }


def seed_everything(seed: int) -> None:
    """Python, numpy and backend seeds, plus deterministic kernels where the backend has them."""
    keras.utils.set_random_seed(seed)
    if backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
