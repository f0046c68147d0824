"""Import Keras and start its backend without the backend's start-up noise on stderr."""

from __future__ import annotations

import logging
import os


class _RetracingNotice(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning.

    TensorFlow counts traces per function *code*, across models: every cell's freshly built or loaded
    network traces its own predict and train functions (once per padded batch size), which after a few
    cells in one process reads to TensorFlow as a function retraced in a loop. Nothing is wrong, and the
    paragraph would break the CLI's progress display.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def load_backend_quietly() -> None:
    """Import Keras with file descriptor 2 muted, and drop TensorFlow's retracing notice (see _RetracingNotice).

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
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _RetracingNotice) for f in logger.filters):
        logger.addFilter(_RetracingNotice())
