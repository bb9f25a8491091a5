"""Import Keras 3 on TensorFlow quietly, with TensorFlow's default (oneDNN) settings.

morphlib never sets ``TF_USE_LEGACY_KERAS`` nor switches oneDNN off: its layers avoid
the Conv2D that aborts oneDNN (see the model module).
"""

import os


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
    return keras, tf, tfp.distributions


def keras_callback_base():
    """``keras.callbacks.Callback``, for classes defined at import time of a module that needs Keras."""
    return keras_tf_tfp()[0].callbacks.Callback
