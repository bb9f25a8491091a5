"""The decoder's own layers: a shared output bias and the detail bank.

Why a detail bank: the tutorial's decoder builds each frame's spectrum as one linear
map of a ``hidden``-wide code, so across all frames of all loops its output has rank at
most ``hidden`` (256). On recorded drums the best rank-256 fit of the log-magnitude,
through the same Griffin-Lim, is 3.7 to 3.9 dB from the original — the fine structure of hats,
snare tails and room noise does not fit in 256 dimensions, whatever the training. The
bank adds full-resolution patterns, mixed by weights computed from the latent vector, so
that the decoder can reproduce each loop's own fine structure (see the README).
"""

from .backend import keras_tf_tfp
from .config import check_int

keras, tf, _ = keras_tf_tfp()


@keras.saving.register_keras_serializable(package="morphlib")
class SharedBias(keras.layers.Layer):
    """Adds one learned scalar to every value (the tutorial's single-filter output bias)."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def call(self, x):
        return x + self.bias


@keras.saving.register_keras_serializable(package="morphlib")
class DetailBank(keras.layers.Layer):
    """``slots`` learned spectrogram-sized patterns, mixed by the input weights.

    Parameters
    ----------
    slots : int > 0
        Number of patterns. With at least as many as there are loops, each loop can
        have its own; with fewer they are shared.
    n_frames, n_bins : int > 0
        The shape of one pattern (frames first, as inside the decoder).

    Input ``[shape=(batch, slots)]``: mixing weights. Output
    ``[shape=(batch, n_frames, n_bins)]``: their weighted sum of patterns. The patterns
    start at zero, so an untrained bank adds nothing.
    """

    def __init__(self, slots, n_frames, n_bins, **kwargs):
        super().__init__(**kwargs)
        self.slots = check_int("slots", slots, low=1)
        self.n_frames = check_int("n_frames", n_frames, low=1)
        self.n_bins = check_int("n_bins", n_bins, low=1)

    def build(self, input_shape):
        self.patterns = self.add_weight(name="patterns", shape=(self.slots, self.n_frames * self.n_bins), initializer="zeros")

    def call(self, weights):
        out = keras.ops.matmul(weights, keras.ops.cast(self.patterns, weights.dtype))
        return keras.ops.reshape(out, (-1, self.n_frames, self.n_bins))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_frames, self.n_bins)

    def get_config(self):
        return {**super().get_config(), "slots": self.slots, "n_frames": self.n_frames, "n_bins": self.n_bins}
