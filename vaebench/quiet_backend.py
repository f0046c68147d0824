"""Import Keras and start its backend without the backend's start-up noise on stderr."""

from __future__ import annotations

import os


def load_backend_quietly() -> None:
    """Import Keras with file descriptor 2 muted.

    TensorFlow prints C++ start-up notices (oneDNN, absl) to stderr before any
    log level applies; they would bury the CLI's one-line messages and garble
    its progress display.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras

        keras.ops.zeros(1)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
