"""Import Keras 3 on TensorFlow quietly, with TensorFlow's default (oneDNN) settings.

morphlib never sets ``TF_USE_LEGACY_KERAS`` nor switches oneDNN off: its layers avoid
the Conv2D that aborts oneDNN (see the model module). The first import also applies
``MORPHLIB_CPU_DEVICES`` (:func:`split_cpu`), before anything can start TensorFlow's
devices, whatever morphlib does first (the command line analyses a folder before it picks
a strategy).
"""

import os

from ..errors import MorphlibError, ParameterError

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
        raise MorphlibError(
            f"morphlib needs Keras' TensorFlow backend, but KERAS_BACKEND is {keras.backend.backend()!r}; "
            "set KERAS_BACKEND=tensorflow before importing keras"
        )
    try:
        import tensorflow_probability as tfp
    except ImportError as exc:  # TFP 0.25 refuses to import without tf-keras
        raise MorphlibError(
            f"tensorflow-probability cannot be imported ({exc}); install it with `pip install tf-keras "
            "tensorflow-probability` (Keras 3 stays the Keras morphlib uses)"
        ) from exc
    if not _started:  # the first use: before anything can start TensorFlow's devices
        _started.append(True)
        split_cpu(tf)
    return keras, tf, tfp.distributions


def keras_callback_base():
    """``keras.callbacks.Callback``, for classes defined at import time of a module that needs Keras."""
    return keras_tf_tfp()[0].callbacks.Callback


def split_cpu(tf=None):
    """Apply ``MORPHLIB_CPU_DEVICES=N`` (before TensorFlow starts its devices); return N or None.

    morphlib's first import of TensorFlow does it (``backend.keras_tf_tfp``), so that only
    TensorFlow used before morphlib makes it come too late.
    """
    text = os.environ.get("MORPHLIB_CPU_DEVICES", "").strip()
    if not text:
        return None
    try:
        n = int(text)
        if n < 1:
            raise ValueError
    except ValueError:
        raise ParameterError(f"MORPHLIB_CPU_DEVICES must be a whole number >= 1, got {text!r}") from None
    if tf is None:
        _, tf, _ = keras_tf_tfp()
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) != n:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
        except RuntimeError:
            raise ParameterError(
                f"MORPHLIB_CPU_DEVICES={n} came too late: TensorFlow has already started its devices; "
                "set it before Python starts (or before the first morphlib call)"
            ) from None
    return n
