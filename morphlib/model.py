"""The convolutional VAE: separate encoder and decoder models and a trainable VAE.

The tutorial's encoder starts with a Conv2D whose kernel spans all 1025 frequency bins.
On today's TensorFlow that layer aborts the process in training (oneDNN), so morphlib
computes the same thing as a Dense layer over the bins of each frame: with frames as the
sequence axis and bins as channels, the tutorial's ``Conv2D(h, (n_bins, 1))`` is
``Dense(h)`` and its ``Conv2D(h, (1, s), strides=s)`` is ``Conv1D(h, s, strides=s)`` —
the same weights, the same parameter count, trained with default settings.
"""

import math

from .backend import keras_tf_tfp
from .config import check_int
from .errors import ArchitectureError

keras, tf, tfd = keras_tf_tfp()


def time_strides(n_frames):
    """The two time strides ``(s1, s2)`` with ``s1 * s2 == n_frames`` that the encoder uses.

    ``s2`` is the largest divisor of ``n_frames`` not above its square root, which gives
    the tutorial's ``(37, 4)`` for 148 frames. A prime frame count gives ``(n_frames, 1)``.

    Parameters
    ----------
    n_frames : int > 0

    Returns
    -------
    strides : tuple of int [shape=(2,)]
    """
    n = check_int("n_frames", n_frames, low=1)
    s2 = max(k for k in range(1, math.isqrt(n) + 1) if n % k == 0)
    return (n // s2, s2)


def check_strides(n_frames, strides):
    """Validate explicit strides; ArchitectureError says which frame counts they fit."""
    strides = tuple(int(s) for s in strides)
    if len(strides) != 2 or min(strides) < 1 or strides[0] * strides[1] != n_frames:
        raise ArchitectureError(
            f"strides {strides} do not fit {n_frames} frames: they must be two whole numbers whose "
            f"product is the frame count ({strides[0] * strides[1] if len(strides) == 2 else '?'} frames "
            f"for these); leave strides unset to derive {time_strides(n_frames)}"
        )
    return strides


POSTERIORS = ("full", "diag")
COMPRESSIONS = ("none", "log")
OUTPUTS = ("relu", "softplus")


def n_posterior_params(latent_dim, posterior="full"):
    """Means plus scale entries: lower-triangular ``d + d (d + 1) / 2`` (152 for d = 16),
    or diagonal ``2 d``."""
    if posterior == "diag":
        return 2 * latent_dim
    return latent_dim + latent_dim * (latent_dim + 1) // 2


@keras.saving.register_keras_serializable(package="morphlib")
class SharedBias(keras.layers.Layer):
    """Adds one learned scalar to every value (the tutorial's single-filter output bias)."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def call(self, x):
        return x + self.bias


def build_encoder(n_bins, n_frames, *, latent_dim=16, hidden=256, strides=None, posterior="full"):
    """The encoder: |STFT| → parameters of a full-covariance Gaussian posterior.

    Parameters
    ----------
    n_bins, n_frames : int > 0
        Input shape ``(n_bins, n_frames)``: linear magnitude.
    latent_dim : int > 0
    hidden : int > 0
    strides : tuple of int or None
        Time strides ``(s1, s2)`` with product ``n_frames``; default ``time_strides``.
    posterior : {"full", "diag"}
        Full-covariance (the tutorial's) or diagonal Gaussian.

    Returns
    -------
    encoder : keras.Model
        Named "encoder"; output shape ``(n_posterior_params(latent_dim, posterior),)``.
    """
    s1, s2 = check_strides(n_frames, strides or time_strides(n_frames))
    L = keras.layers
    x = inputs = keras.Input((n_bins, n_frames), name="magnitude")
    x = L.Permute((2, 1), name="frames_first")(x)  # (n_frames, n_bins)
    x = L.Dense(hidden, activation="relu", name="frequency_projection")(x)
    x = L.Conv1D(hidden, s1, strides=s1, activation="relu", name="time_conv_1")(x)
    x = L.Conv1D(hidden, s2, strides=s2, activation="relu", name="time_conv_2")(x)
    x = L.Flatten(name="flatten")(x)
    outputs = L.Dense(n_posterior_params(latent_dim, posterior), name="posterior_params")(x)
    return keras.Model(inputs, outputs, name="encoder")


def build_decoder(n_bins, n_frames, *, latent_dim=16, hidden=256, strides=None, output="relu"):
    """The decoder: latent vector → non-negative |STFT| (or its compressed form), mirroring the encoder.

    Parameters
    ----------
    n_bins, n_frames, latent_dim, hidden, strides
        As for ``build_encoder``.
    output : {"relu", "softplus"}
        The last activation: the tutorial's ReLU (which puts many bins at exactly 0), or
        softplus, which is smooth and never exactly 0.

    Returns
    -------
    decoder : keras.Model
        Named "decoder"; input ``(latent_dim,)``, output ``(n_bins, n_frames)``.
    """
    s1, s2 = check_strides(n_frames, strides or time_strides(n_frames))
    L = keras.layers
    z = inputs = keras.Input((latent_dim,), name="z")
    x = L.Dense(hidden, activation="relu", name="expand")(z)
    x = L.Reshape((1, hidden), name="one_step")(x)
    x = L.Conv1DTranspose(hidden, s2, strides=s2, activation="relu", name="time_upsample_2")(x)
    x = L.Conv1DTranspose(hidden, s1, strides=s1, activation="relu", name="time_upsample_1")(x)
    x = L.Dense(n_bins, use_bias=False, name="frequency_synthesis")(x)
    x = SharedBias(name="output_bias")(x)
    x = (L.ReLU(name="non_negative") if output == "relu" else L.Activation("softplus", name="non_negative"))(x)
    outputs = L.Permute((2, 1), name="bins_first")(x)
    return keras.Model(inputs, outputs, name="decoder")


@keras.saving.register_keras_serializable(package="morphlib")
class VAE(keras.Model):
    """A variational autoencoder of magnitude spectrograms.

    It takes and gives linear magnitude (``call``, ``encode``, ``decode``), whatever it
    works in inside. The tutorial's form (``compression="none"``): mean squared error of
    the linear magnitude plus ``beta`` times the analytic KL(q(z|x) || N(0, I)). With
    ``compression="log"`` encoder and decoder work on ``log1p(|S| / floor)``, which gives
    quiet bins (decays, hats, ghost notes) their due; the loss is the MSE there plus
    ``linear_weight`` times the linear-magnitude MSE relative to the batch's mean energy,
    which keeps the loud parts exact. In training the decoder sees a sample of the
    posterior (reparameterised, seeded through ``keras.random.SeedGenerator``); in
    inference and ``test_step`` it sees the posterior mean, so that evaluation is
    deterministic.

    Parameters
    ----------
    n_bins : int > 0
        Frequency bins (``1 + n_fft // 2``; tutorial 1025).
    n_frames : int > 0
        STFT frames (tutorial 148).
    latent_dim : int > 0
        Tutorial: 16.
    hidden : int > 0
        Tutorial: 256.
    strides : tuple of int or None
        Time strides; default derived from ``n_frames`` (tutorial (37, 4)).
    beta : float >= 0
        KL weight (tutorial 0.001).
    seed : int or None
        Seeds the posterior sampling.
    posterior : {"full", "diag"}
        Full-covariance Gaussian posterior (tutorial) or diagonal.
    compression : {"none", "log"}
        What encoder and decoder work on: linear magnitude (tutorial) or ``log1p(|S| / floor)``.
    floor : float > 0
        Magnitude below which ``log`` compression is nearly linear.
    output_activation : {"relu", "softplus"}
        The decoder's last activation.
    linear_weight : float >= 0
        With ``log`` compression: weight of the relative linear-magnitude error in the loss.
    """

    def __init__(self, n_bins=1025, n_frames=148, *, latent_dim=16, hidden=256, strides=None, beta=0.001, seed=None,
                 posterior="full", compression="none", floor=1.0, output_activation="relu", linear_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        self.n_bins = check_int("n_bins", n_bins, low=2)
        self.n_frames = check_int("n_frames", n_frames, low=1)
        self.latent_dim = check_int("latent_dim", latent_dim, low=1, high=512)
        self.hidden = check_int("hidden", hidden, low=1)
        self.time_strides = check_strides(self.n_frames, strides or time_strides(self.n_frames))
        if not float(beta) >= 0:
            raise ArchitectureError(f"beta must be >= 0, got {beta!r}")
        self.beta = float(beta)
        self.seed = seed
        self.posterior_kind = _choice("posterior", posterior, POSTERIORS)
        self.compression = _choice("compression", compression, COMPRESSIONS)
        self.output_activation = _choice("output_activation", output_activation, OUTPUTS)
        if not float(floor) > 0:
            raise ArchitectureError(f"floor must be > 0, got {floor!r}")
        if not float(linear_weight) >= 0:
            raise ArchitectureError(f"linear_weight must be >= 0, got {linear_weight!r}")
        self.floor, self.linear_weight = float(floor), float(linear_weight)
        shape = dict(latent_dim=self.latent_dim, hidden=self.hidden, strides=self.time_strides)
        self.encoder = build_encoder(self.n_bins, self.n_frames, posterior=self.posterior_kind, **shape)
        self.decoder = build_decoder(self.n_bins, self.n_frames, output=self.output_activation, **shape)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mse_tracker = keras.metrics.Mean(name="mse")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(
            n_bins=self.n_bins,
            n_frames=self.n_frames,
            latent_dim=self.latent_dim,
            hidden=self.hidden,
            strides=list(self.time_strides),
            beta=self.beta,
            seed=self.seed,
            posterior=self.posterior_kind,
            compression=self.compression,
            floor=self.floor,
            output_activation=self.output_activation,
            linear_weight=self.linear_weight,
        )
        return config

    @property
    def n_params(self):
        """Trainable and non-trainable weights of encoder and decoder."""
        return self.encoder.count_params() + self.decoder.count_params()

    @property
    def metrics(self):
        return [self.loss_tracker, self.mse_tracker, self.kl_tracker]

    def prior(self):
        """N(0, I) over the latent space."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))

    def compress(self, x):
        """Linear magnitude → what encoder and decoder work on."""
        x = tf.cast(x, tf.float32)
        return tf.math.log1p(x / self.floor) if self.compression == "log" else x

    def expand(self, y):
        """The decoder's output → linear magnitude (the inverse of ``compress``)."""
        return tf.math.expm1(y) * self.floor if self.compression == "log" else y

    def posterior(self, x, training=False):
        """q(z | x): a MultivariateNormalTriL (or Diag) per example.

        Parameters
        ----------
        x : array [shape=(batch, n_bins, n_frames)]
            Linear magnitude.
        """
        params = self.encoder(self.compress(x), training=training)
        d = self.latent_dim
        if self.posterior_kind == "diag":
            return tfd.MultivariateNormalDiag(loc=params[..., :d], scale_diag=tf.nn.softplus(params[..., d:]) + 1e-5)
        scale_tril = tfp_fill_scale_tril(params[..., d:])
        return tfd.MultivariateNormalTriL(loc=params[..., :d], scale_tril=scale_tril)

    def encode(self, x, *, sample=False):
        """Latent vectors of ``x``: the posterior mean, or a sample if asked.

        Parameters
        ----------
        x : array [shape=(batch, n_bins, n_frames)]
        sample : bool

        Returns
        -------
        z : tf.Tensor [shape=(batch, latent_dim)]
        """
        q = self.posterior(x)
        return self._sample(q) if sample else q.mean()

    def decode(self, z):
        """|STFT| from latent vectors: ``(batch, latent_dim)`` → ``(batch, n_bins, n_frames)``."""
        return self.expand(self.decoder(z, training=False))

    def _sample(self, q):
        eps = keras.random.normal(tf.shape(q.loc), seed=self.seed_generator)
        if self.posterior_kind == "diag":
            return q.loc + q.stddev() * eps
        return q.loc + tf.linalg.matvec(q.scale_tril, eps)

    def call(self, x, training=False):
        q = self.posterior(x, training=training)
        z = self._sample(q) if training else q.mean()
        return self.expand(self.decoder(z, training=training))

    def _loss_terms(self, x, training):
        """(loss, reconstruction error, KL); the reconstruction error is in the working domain."""
        q = self.posterior(x, training=training)
        z = self._sample(q) if training else q.mean()
        y_hat = self.decoder(z, training=training)
        x = tf.cast(x, y_hat.dtype)
        mse = tf.reduce_mean(tf.square(self.compress(x) - y_hat))
        if self.compression == "log" and self.linear_weight > 0:
            relative = tf.reduce_mean(tf.square(x - self.expand(y_hat))) / (tf.reduce_mean(tf.square(x)) + 1e-12)
            mse = mse + self.linear_weight * relative
        kl = tf.reduce_mean(tfd.kl_divergence(q, self.prior()))
        return mse + self.beta * kl, mse, kl

    def _update(self, loss, mse, kl):
        self.loss_tracker.update_state(loss)
        self.mse_tracker.update_state(mse)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            loss, mse, kl = self._loss_terms(x, training=True)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update(loss, mse, kl)

    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        return self._update(*self._loss_terms(x, training=False))


def tfp_fill_scale_tril(params):
    """Vector → lower-triangular scale with a positive diagonal, as ``tfp.layers`` does."""
    import tensorflow_probability as tfp

    return tfp.bijectors.FillScaleTriL()(params)


def _choice(name, value, choices):
    if value not in choices:
        raise ArchitectureError(f"{name} must be one of {choices}, got {value!r}")
    return value


def build_vae(settings, preset, *, seed=None):
    """A VAE for data analysed with ``settings``, sized by ``preset``.

    Parameters
    ----------
    settings : AnalysisSettings
    preset : Preset
    seed : int or None
    """
    return VAE(
        settings.n_bins,
        settings.n_frames,
        latent_dim=preset.latent_dim,
        hidden=preset.hidden,
        beta=preset.beta,
        seed=seed,
        posterior=preset.posterior,
        compression=preset.compression,
        floor=preset.floor,
        output_activation=preset.output_activation,
        linear_weight=preset.linear_weight,
        name="vae",
    )
