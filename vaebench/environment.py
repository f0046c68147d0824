"""Where training runs: backend, device, package versions, and determinism."""

from __future__ import annotations

import os
import platform
from importlib import metadata

import keras

from vaebench.errors import VaebenchError


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


#: ``--precision``'s choices: float32 arithmetic throughout (the default; what every CPU run computes), TF32
#: matrix products on GPUs that have them (float32 elsewhere), or bfloat16 arithmetic with float32 weights
PRECISIONS = ("float32", "tf32", "bfloat16")


def check_precision(precision: str) -> None:
    """Refuse a precision this backend cannot train at. bfloat16 needs JAX, which computes a bfloat16 layer's output
    and float32 data together in float32; TensorFlow refuses to mix them in the objectives."""
    if precision not in PRECISIONS:
        raise VaebenchError(f"bad --precision {precision}: expected one of {', '.join(PRECISIONS)}")
    if precision == "bfloat16" and backend() != "jax":
        raise VaebenchError(f"--precision bfloat16 needs the JAX backend (KERAS_BACKEND=jax); this is {backend()}")


def set_precision(precision: str) -> None:
    """Models built from now on compute at ``precision`` (see check_precision), matrix products included."""
    check_precision(precision)
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    tf32 = precision == "tf32"
    if backend() == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "tensorfloat32" if tf32 else "float32")
    elif backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(tf32)


def seed_everything(seed: int) -> None:
    """Python, numpy and backend seeds, plus deterministic kernels where the backend has them."""
    keras.utils.set_random_seed(seed)
    if backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
