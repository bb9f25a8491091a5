"""The model's own layers: time convolutions as matrix products, a shared output bias and
the detail bank.

Why patch convolutions: the tutorial's time convolutions have a kernel as long as their
stride (37 and 4 frames), so each output step sees its own patch of input steps and no
other. That is a reshape and one matrix product, which oneDNN runs at its matrix speed,
forward and backward; as general convolutions they spent half of a float32 training step
in their filter and input gradients (Conv2DBackpropFilter alone took 40 of 98 ms per step
of 16 loops). Same weights, same shapes, same numbers.

Why a detail bank: the tutorial's decoder builds each frame's spectrum as one linear
map of a ``hidden``-wide code, so across all frames of all loops its output has rank at
most ``hidden`` (256). On recorded drums the best rank-256 fit of the log-magnitude,
through the same Griffin-Lim, is 3.7 to 3.9 dB from the original — the fine structure of hats,
snare tails and room noise does not fit in 256 dimensions, whatever the training. The
bank adds full-resolution patterns, mixed by weights computed from the latent vector, so
that the decoder can reproduce each loop's own fine structure (see the README).

Why the bank is stored in 8 bits: its fine structure is noise-like, full rank in every
loop (each loop's own best rank-64 fit is 3.1 dB away through Griffin-Lim, measured by
``benchmarks/rank.py --per-loop``), so it cannot be factorised without losing what it is
there for; but it does not need 32 bits. A model file keeps each pattern's frames as
8-bit steps between that frame's lowest and highest value (at most half a step off, a
few hundredths of a dB), which makes a studio model a quarter of the size on Drive.
"""

import numpy as np

from .backend import keras_tf_tfp
from ..codes import dequantise_rows, quantise_rows
from ..config import check_int

keras, tf, _ = keras_tf_tfp()


def _check_patches(layer):
    if layer.kernel_size != layer.strides or layer.padding != "valid" or layer.dilation_rate != (1,) \
            or layer.data_format != "channels_last":
        from ..errors import ArchitectureError

        raise ArchitectureError(
            f"{type(layer).__name__} {layer.name!r} needs kernel_size == strides, padding 'valid', no dilation and "
            f"channels last; got kernel_size {layer.kernel_size}, strides {layer.strides}, padding {layer.padding!r}"
        )


@keras.saving.register_keras_serializable(package="morphlib")
class PatchConv1D(keras.layers.Conv1D):
    """``Conv1D`` whose kernel is as long as its stride, computed as a matrix product.

    Input ``[shape=(batch, steps, channels)]``, ``steps`` a multiple of the kernel size;
    output ``[shape=(batch, steps // kernel_size, filters)]``. The kernel has Conv1D's
    shape ``(kernel_size, channels, filters)``, so weights move between the two.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        _check_patches(self)

    def call(self, inputs):  # Keras' Conv1D.call calls ops.conv itself
        k, channels, filters = self.kernel.shape
        patches = keras.ops.reshape(inputs, (-1, inputs.shape[1] // k, k * channels))
        outputs = keras.ops.matmul(patches, keras.ops.reshape(self.kernel, (k * channels, filters)))
        if self.use_bias:
            outputs = keras.ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="morphlib")
class PatchConv1DTranspose(keras.layers.Conv1DTranspose):
    """``Conv1DTranspose`` whose kernel is as long as its stride, computed as a matrix product.

    Input ``[shape=(batch, steps, channels)]``; output ``[shape=(batch, steps * kernel_size,
    filters)]``: each input step becomes its own patch of ``kernel_size`` output steps. The
    kernel has Conv1DTranspose's shape ``(kernel_size, filters, channels)``.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        _check_patches(self)

    def call(self, inputs):
        k, filters, channels = self.kernel.shape
        kernel = keras.ops.reshape(keras.ops.transpose(self.kernel, (2, 0, 1)), (channels, k * filters))
        outputs = keras.ops.reshape(keras.ops.matmul(inputs, kernel), (-1, inputs.shape[1] * k, filters))
        if self.use_bias:
            outputs = keras.ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="morphlib")
class SharedBias(keras.layers.Layer):
    """Adds one learned scalar to every value (the tutorial's single-filter output bias)."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def call(self, x):
        return x + self.bias


@keras.saving.register_keras_serializable(package="morphlib")
class FrequencyConvSynthesis(keras.layers.Layer):
    """Each frame's spectrum from its code by convolutions along frequency.

    The tutorial's decoder maps each frame's code to its spectrum with one dense layer: a
    free pattern per bin and code unit. Here the code gives a coarse spectrum of
    ``channels`` features every ``2 ** stages`` bins, which ``stages`` rounds of doubling
    (nearest neighbour) and a ``kernel_size``-bin convolution refine to full resolution;
    the same small kernels serve every bin, so the decoder's shapes are local along
    frequency and shared, which is what a loop of a kit it never heard might need.

    Parameters
    ----------
    n_bins : int > 0
        Bins of the output.
    channels : int > 0
        Features per coarse bin and per refining convolution.
    stages : int > 0
        Doublings from the coarse spectrum (``ceil(n_bins / 2 ** stages)`` bins) to the output.
    kernel_size : int > 0
        Bins each convolution spans.

    Input ``[shape=(batch, n_frames, hidden)]``; output ``[shape=(batch, n_frames, n_bins)]``,
    without bias (the decoder adds its ``SharedBias``).
    """

    def __init__(self, n_bins, *, channels=8, stages=3, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        self.n_bins = check_int("n_bins", n_bins, low=1)
        self.channels = check_int("channels", channels, low=1)
        self.stages = check_int("stages", stages, low=1, high=10)
        self.kernel_size = check_int("kernel_size", kernel_size, low=1)
        self.n_coarse = -(-self.n_bins // 2 ** self.stages)

    def build(self, input_shape):
        c, k = self.channels, self.kernel_size
        self.projection = self.add_weight(name="projection", shape=(input_shape[-1], self.n_coarse * c), initializer="glorot_uniform")
        self.kernels = [self.add_weight(name=f"kernel_{i}", shape=(k, c, c if i < self.stages - 1 else 1), initializer="glorot_uniform")
                        for i in range(self.stages)]
        self.biases = [self.add_weight(name=f"bias_{i}", shape=(c,), initializer="zeros") for i in range(self.stages - 1)]

    def call(self, x):
        ops = keras.ops
        batch, frames = ops.shape(x)[0], ops.shape(x)[1]
        y = ops.reshape(ops.matmul(x, self.projection), (-1, self.n_coarse, self.channels))
        for i, kernel in enumerate(self.kernels):
            y = ops.conv(ops.repeat(y, 2, axis=1), kernel, padding="same")
            if i < self.stages - 1:
                y = ops.relu(y + self.biases[i])
        return ops.reshape(y[:, : self.n_bins, 0], (batch, frames, self.n_bins))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.n_bins)

    def get_config(self):
        return {**super().get_config(), "n_bins": self.n_bins, "channels": self.channels, "stages": self.stages,
                "kernel_size": self.kernel_size}


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

    def save_own_variables(self, store):
        # 8 bits per value in the model file (see the module's docstring); a checkpoint
        # keeps more, to resume training (modelfolder.checkpoint_arrays).
        codes, low, step = quantise_rows(self.patterns.numpy().reshape(self.slots * self.n_frames, self.n_bins))
        store["codes"], store["low"], store["step"] = codes, low, step

    def load_own_variables(self, store):
        if "codes" in store:
            patterns = dequantise_rows(np.asarray(store["codes"]), np.asarray(store["low"]), np.asarray(store["step"]))
        else:  # a model file of morphlib before 8-bit banks: float32 as trained
            patterns = np.asarray(store["0"])
        self.patterns.assign(patterns.reshape(self.slots, self.n_frames * self.n_bins).astype(self.patterns.dtype))
