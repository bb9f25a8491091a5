"""Import Keras 3 on TensorFlow quietly, with TensorFlow's default (oneDNN) settings.

morphlib never sets ``TF_USE_LEGACY_KERAS`` nor switches oneDNN off: its layers avoid
the Conv2D that aborts oneDNN (see the model module). The first import also applies
``MORPHLIB_CPU_DEVICES`` (``morphlib.devices``), before anything can start TensorFlow's
devices, whatever morphlib does first (the command line analyses a folder before it picks
a strategy).
"""

import os

_started = []


def keras_tf_tfp():
    """``(keras, tensorflow, tfp.distributions)``, imported on first use.

    Importing here rather than at module level keeps ``import morphlib`` and the CLI's
    ``--help`` fast on a machine where TensorFlow takes seconds to load.
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        from .errors import MorphlibError

        raise MorphlibError(
            f"morphlib needs Keras' TensorFlow backend, but KERAS_BACKEND is {keras.backend.backend()!r}; "
            "set KERAS_BACKEND=tensorflow before importing keras"
        )
    try:
        import tensorflow_probability as tfp
    except ImportError as exc:  # TFP 0.25 refuses to import without tf-keras
        from .errors import MorphlibError

        raise MorphlibError(
            f"tensorflow-probability cannot be imported ({exc}); install it with `pip install tf-keras "
            "tensorflow-probability` (Keras 3 stays the Keras morphlib uses)"
        ) from exc
    if not _started:  # the first use: before anything can start TensorFlow's devices
        from .devices import split_cpu

        _started.append(True)
        split_cpu(tf)
    return keras, tf, tfp.distributions


def keras_callback_base():
    """``keras.callbacks.Callback``, for classes defined at import time of a module that needs Keras."""
    return keras_tf_tfp()[0].callbacks.Callback
