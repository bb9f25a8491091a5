"""The convolutional VAE: separate encoder and decoder models and a trainable VAE.

The tutorial's encoder starts with a Conv2D whose kernel spans all 1025 frequency bins.
On today's TensorFlow that layer aborts the process in training (oneDNN), so morphlib
computes the same thing as a Dense layer over the bins of each frame: with frames as the
sequence axis and bins as channels, the tutorial's ``Conv2D(h, (n_bins, 1))`` is
``Dense(h)`` and its ``Conv2D(h, (1, s), strides=s)`` is ``Conv1D(h, s, strides=s)`` —
the same weights, the same parameter count, trained with default settings. Those Conv1D
(and the decoder's Conv1DTranspose) have kernels as long as their strides and are computed
as matrix products (``layers.PatchConv1D``), with Keras' weight shapes.
"""

import math

from .backend import keras_tf_tfp
from ..config import FREQUENCY_DECODERS, INITS, check_int
from .devices import in_multi_worker_mode
from ..errors import ArchitectureError
from .layers import DetailBank, FrequencyConvSynthesis, PatchConv1D, PatchConv1DTranspose, SharedBias

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
#: How the ReLU layers' kernels start (``VAE(init=...)``): Keras' default Glorot-uniform
#: (the tutorial's), or He-uniform, scaled for ReLU (``keras.initializers.HeUniform``),
#: which keeps the signal's size through the stack of ReLUs. With He the tutorial preset
#: leaves the plateau where the decoder plays every loop's mean spectrum (cosine 0.77 on
#: the demo loops) after 35-50 epochs instead of 75-90 of a one-cycle run over 350
#: (benchmarks/plateau.py; README, "A start scaled for ReLU").
RELU_INITS = dict(zip(INITS, ("glorot_uniform", "he_uniform")))


def n_posterior_params(latent_dim, posterior="full"):
    """Means plus scale entries: lower-triangular ``d + d (d + 1) / 2`` (152 for d = 16),
    or diagonal ``2 d``."""
    if posterior == "diag":
        return 2 * latent_dim
    return latent_dim + latent_dim * (latent_dim + 1) // 2


def build_encoder(n_bins, n_frames, *, latent_dim=16, hidden=256, strides=None, posterior="full", dtype=None, relu_init="glorot_uniform"):
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
    dtype : str or None
        The layers' dtype policy (``"mixed_bfloat16"`` computes in bfloat16 on float32
        weights); None: float32.
    relu_init : str
        Keras initializer of the ReLU layers' kernels (see ``RELU_INITS``).

    Returns
    -------
    encoder : keras.Model
        Named "encoder"; output shape ``(n_posterior_params(latent_dim, posterior),)``.
    """
    s1, s2 = check_strides(n_frames, strides or time_strides(n_frames))
    L = keras.layers
    x = inputs = keras.Input((n_bins, n_frames), name="magnitude")
    x = L.Permute((2, 1), name="frames_first", dtype=dtype)(x)  # (n_frames, n_bins)
    relu = dict(activation="relu", kernel_initializer=relu_init, dtype=dtype)
    x = L.Dense(hidden, name="frequency_projection", **relu)(x)
    x = PatchConv1D(hidden, s1, strides=s1, name="time_conv_1", **relu)(x)
    x = PatchConv1D(hidden, s2, strides=s2, name="time_conv_2", **relu)(x)
    x = L.Flatten(name="flatten", dtype=dtype)(x)
    outputs = L.Dense(n_posterior_params(latent_dim, posterior), name="posterior_params", dtype=dtype)(x)
    return keras.Model(inputs, outputs, name="encoder")


def build_decoder(n_bins, n_frames, *, latent_dim=16, hidden=256, strides=None, output="relu", detail_slots=0, frequency="dense",
                  dtype=None, relu_init="glorot_uniform"):
    """The decoder: latent vector → non-negative |STFT| (or its compressed form), mirroring the encoder.

    Parameters
    ----------
    n_bins, n_frames, latent_dim, hidden, strides, dtype, relu_init
        As for ``build_encoder``.
    output : {"relu", "softplus"}
        The last activation: the tutorial's ReLU (which puts many bins at exactly 0), or
        softplus, which is smooth and never exactly 0.
    detail_slots : int >= 0
        Patterns in a ``DetailBank`` added before the output (0: none, the tutorial's).
        Their mixing weights come from ``z`` through one hidden layer.
    frequency : {"dense", "conv"}
        How each frame's spectrum comes from its code: one dense layer (the tutorial's), or
        a coarse spectrum refined by convolutions along frequency (``FrequencyConvSynthesis``).

    Returns
    -------
    decoder : keras.Model
        Named "decoder"; input ``(latent_dim,)``, output ``(n_bins, n_frames)``.
    """
    s1, s2 = check_strides(n_frames, strides or time_strides(n_frames))
    L = keras.layers
    z = inputs = keras.Input((latent_dim,), name="z")
    relu = dict(activation="relu", kernel_initializer=relu_init, dtype=dtype)
    x = L.Dense(hidden, name="expand", **relu)(z)
    x = L.Reshape((1, hidden), name="one_step", dtype=dtype)(x)
    x = PatchConv1DTranspose(hidden, s2, strides=s2, name="time_upsample_2", **relu)(x)
    x = PatchConv1DTranspose(hidden, s1, strides=s1, name="time_upsample_1", **relu)(x)
    if _choice("frequency", frequency, FREQUENCY_DECODERS) == "conv":
        x = FrequencyConvSynthesis(n_bins, name="frequency_synthesis", dtype=dtype)(x)
    else:
        x = L.Dense(n_bins, use_bias=False, name="frequency_synthesis", dtype=dtype)(x)
    if detail_slots:
        w = L.Dense(hidden, name="detail_hidden", **relu)(z)
        w = L.Dense(detail_slots, name="detail_weights", dtype=dtype)(w)
        x = L.Add(name="with_detail", dtype=dtype)([x, DetailBank(detail_slots, n_frames, n_bins, name="detail_bank", dtype=dtype)(w)])
    x = SharedBias(name="output_bias", dtype=dtype)(x)
    last = L.ReLU(name="non_negative", dtype=dtype) if output == "relu" else L.Activation("softplus", name="non_negative", dtype=dtype)
    outputs = L.Permute((2, 1), name="bins_first", dtype=dtype)(last(x))
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
    detail_slots : int >= 0
        Patterns of the decoder's ``DetailBank`` (0: none, the tutorial's decoder).
    mix_weight : float >= 0
        Weight of the mid-morph term: in training each example is paired with another of
        the batch, their latent means are blended at a random α in [0.2, 0.8], and the
        decode of the blend must keep the peakiness of its ends' spectral flux (how
        sharply hits stand out), in the working domain: ``max(0, target - peakiness)²``
        with the target the ends' peakiness blended at α (0: off, the tutorial's loss).
    frequency_decoder : {"dense", "conv"}
        How the decoder makes each frame's spectrum from its code (see ``build_decoder``;
        "dense" is the tutorial's).
    init : {"glorot", "he"}
        How the ReLU layers' kernels start (``RELU_INITS``; "glorot" is the tutorial's).
        It only decides a new model's first weights; a loaded one has its own.
    precision : {"float32", "mixed_bfloat16", "mixed_float16"}
        The layers' arithmetic in training. Not part of ``get_config``: how a model was
        trained does not change what it is, and a saved model computes in float32.
    """

    def __init__(self, n_bins=1025, n_frames=148, *, latent_dim=16, hidden=256, strides=None, beta=0.001, seed=None,
                 posterior="full", compression="none", floor=1.0, output_activation="relu", linear_weight=0.0, detail_slots=0,
                 mix_weight=0.0, frequency_decoder="dense", init="glorot", precision="float32", **kwargs):
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
        self.detail_slots = check_int("detail_slots", detail_slots, low=0)
        if not float(mix_weight) >= 0:
            raise ArchitectureError(f"mix_weight must be >= 0, got {mix_weight!r}")
        self.mix_weight = float(mix_weight)
        self.frequency_decoder = _choice("frequency_decoder", frequency_decoder, FREQUENCY_DECODERS)
        self.init = _choice("init", init, INITS)
        self.precision = precision
        dtype = None if precision == "float32" else precision
        shape = dict(latent_dim=self.latent_dim, hidden=self.hidden, strides=self.time_strides, dtype=dtype, relu_init=RELU_INITS[self.init])
        self.encoder = build_encoder(self.n_bins, self.n_frames, posterior=self.posterior_kind, **shape)
        self.decoder = build_decoder(self.n_bins, self.n_frames, output=self.output_activation, detail_slots=self.detail_slots,
                                     frequency=self.frequency_decoder, **shape)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mse_tracker = keras.metrics.Mean(name="mse")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.mix_tracker = keras.metrics.Mean(name="mix") if self.mix_weight else None
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
            detail_slots=self.detail_slots,
            mix_weight=self.mix_weight,
            frequency_decoder=self.frequency_decoder,
            init=self.init,
        )
        return config

    @property
    def n_params(self):
        """Trainable and non-trainable weights of encoder and decoder."""
        return self.encoder.count_params() + self.decoder.count_params()

    @property
    def metrics(self):
        return [self.loss_tracker, self.mse_tracker, self.kl_tracker, *([self.mix_tracker] if self.mix_tracker else [])]

    def prior(self):
        """N(0, I) over the latent space."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))

    def compress(self, x):
        """Linear magnitude → what encoder and decoder work on."""
        x = tf.cast(x, tf.float32)
        return tf.math.log1p(x / self.floor) if self.compression == "log" else x

    def expand(self, y):
        """The decoder's output → linear magnitude (the inverse of ``compress``)."""
        y = tf.cast(y, tf.float32)
        return tf.math.expm1(y) * self.floor if self.compression == "log" else y

    def posterior_params(self, x, training=False):
        """q(z | x) as plain tensors ``(loc, scale)``.

        ``scale`` is the lower-triangular scale ``[shape=(batch, d, d)]`` of the full
        posterior (the tutorial's ``tfp.layers`` parameterisation: ``fill_triangular``,
        softplus diagonal + 1e-5) or the standard deviations ``[shape=(batch, d)]`` of the
        diagonal one. Plain TensorFlow ops, so that training compiles with XLA and runs in
        mixed precision; :meth:`posterior` wraps them in a TFP distribution.

        Parameters
        ----------
        x : array [shape=(batch, n_bins, n_frames)]
            Linear magnitude.
        """
        params = tf.cast(self.encoder(self.compress(x), training=training), tf.float32)
        d = self.latent_dim
        loc, raw = params[..., :d], params[..., d:]
        if self.posterior_kind == "diag":
            return loc, tf.nn.softplus(raw) + 1e-5
        return loc, fill_scale_tril(raw, d)

    def posterior(self, x, training=False):
        """q(z | x): a ``tfd.MultivariateNormalTriL`` (or ``Diag``) per example."""
        loc, scale = self.posterior_params(x, training=training)
        if self.posterior_kind == "diag":
            return tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale)
        return tfd.MultivariateNormalTriL(loc=loc, scale_tril=scale)

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
        loc, scale = self.posterior_params(x)
        return self._sample(loc, scale) if sample else loc

    def decode(self, z):
        """|STFT| from latent vectors: ``(batch, latent_dim)`` → ``(batch, n_bins, n_frames)``."""
        return self.expand(self.decoder(z, training=False))

    def _sample(self, loc, scale):
        eps = keras.random.normal(tf.shape(loc), seed=self.seed_generator)
        if self.posterior_kind == "diag":
            return loc + scale * eps
        return loc + tf.linalg.matvec(scale, eps)

    def _kl(self, loc, scale):
        """Analytic KL(q || N(0, I)) per example (equal to ``tfd.kl_divergence(q, prior)``)."""
        if self.posterior_kind == "diag":
            var, log_det = tf.square(scale), 2.0 * tf.reduce_sum(tf.math.log(scale), axis=-1)
        else:
            var = tf.reduce_sum(tf.square(scale), axis=-1)  # diag(L L^T), summed below
            log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(scale)), axis=-1)
        trace = tf.reduce_sum(var, axis=-1)
        return 0.5 * (trace + tf.reduce_sum(tf.square(loc), axis=-1) - self.latent_dim - log_det)

    def call(self, x, training=False):
        loc, scale = self.posterior_params(x, training=training)
        z = self._sample(loc, scale) if training else loc
        return self.expand(self.decoder(z, training=training))

    def _loss_terms(self, x, training, posterior=None):
        """(loss, reconstruction error, KL); the reconstruction error is in the working domain.
        ``posterior``: ``(loc, scale)`` of ``x`` when known (a frozen encoder's), else encoded."""
        loc, scale = self.posterior_params(x, training=training) if posterior is None else posterior
        z = self._sample(loc, scale) if training else loc
        y_hat = tf.cast(self.decoder(z, training=training), tf.float32)
        x = tf.cast(x, tf.float32)
        mse = tf.reduce_mean(tf.square(self.compress(x) - y_hat))
        if self.compression == "log" and self.linear_weight > 0:
            relative = tf.reduce_mean(tf.square(x - self.expand(y_hat))) / (tf.reduce_mean(tf.square(x)) + 1e-12)
            mse = mse + self.linear_weight * relative
        kl = tf.reduce_mean(self._kl(loc, scale))
        loss = mse + self.beta * kl
        if self.mix_weight:
            mix = self._mix_term(self.compress(x), loc, training) if training else tf.zeros(())
            return loss + self.mix_weight * mix, mse, kl, mix
        return loss, mse, kl

    def _mix_term(self, x, loc, training):
        """How much flatter the decodes of blended latent means are than their ends, squared."""
        n = tf.shape(loc)[0]
        partner = tf.argsort(keras.random.uniform((n,), seed=self.seed_generator))  # a random pairing
        alpha = keras.random.uniform((n, 1), 0.2, 0.8, seed=self.seed_generator)
        blend = (1 - alpha) * loc + alpha * tf.gather(loc, partner)
        y_mix = tf.cast(self.decoder(blend, training=training), tf.float32)
        ends = peakiness(x)
        target = tf.stop_gradient((1 - alpha[:, 0]) * ends + alpha[:, 0] * tf.gather(ends, partner))
        return tf.reduce_mean(tf.square(tf.nn.relu(target - peakiness(y_mix))))

    def _update(self, loss, mse, kl, mix=None):
        self.loss_tracker.update_state(loss)
        self.mse_tracker.update_state(mse)
        self.kl_tracker.update_state(kl)
        if self.mix_tracker is not None:
            self.mix_tracker.update_state(mix)
        results = {m.name: m.result() for m in self.metrics}
        if in_multi_worker_mode(tf.distribute.get_strategy()):
            # Keras averages multi-worker logs along axis 0, which a scalar does not have
            results = {k: tf.reshape(v, [1]) for k, v in results.items()}
        return results

    def train_step(self, data):
        if isinstance(data, dict):  # {"x", "loc", "scale"}: a frozen encoder's posterior given (add_loops)
            return self._step(data["x"], posterior=(data["loc"], data["scale"]))
        return self._step(data[0] if isinstance(data, (tuple, list)) else data)

    def train_step_given_posterior(self, x, loc, scale):
        """A training step whose posterior ``q(z | x)`` is given as ``(loc, scale)`` (from
        ``posterior_params``) instead of encoded: for a frozen encoder, whose posterior does
        not change, it saves the encoder's pass in every step. Updates the trainable weights
        and the metrics as ``train_step`` does; returns the same dict."""
        return self._step(x, posterior=(loc, scale))

    def _step(self, x, posterior=None):
        with tf.GradientTape() as tape:
            terms = self._loss_terms(x, training=True, posterior=posterior)
            loss = terms[0]
            # Replicas' gradients are summed: each contributes its share of the global mean.
            share = loss / tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, loss.dtype)
            scaled = self.optimizer.scale_loss(share)  # float16: a LossScaleOptimizer scales (and unscales)
        grads = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update(*terms)

    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        return self._update(*self._loss_terms(x, training=False))


def peakiness(y):
    """How sharply the hits of spectrograms stand out: the RMS of their spectral flux over
    its mean (1 for a flux as even as a drone; higher the more it gathers in few frames).

    Parameters
    ----------
    y : tf.Tensor [shape=(batch, n_bins, n_frames)]
        In the working domain (``compress``ed magnitudes), as the decoder gives them.

    Returns
    -------
    peakiness : tf.Tensor [shape=(batch,)]
    """
    rise = tf.nn.relu(y[:, :, 1:] - y[:, :, :-1])
    flux = tf.reduce_sum(rise, axis=1)  # per frame
    mean = tf.reduce_mean(flux, axis=-1) + 1e-6
    return tf.sqrt(tf.reduce_mean(tf.square(flux), axis=-1)) / mean


def fill_scale_tril(params, latent_dim):
    """Vector → lower-triangular scale with a positive diagonal, exactly as ``tfp.layers``
    (``tfp.bijectors.FillScaleTriL``) does, in plain ops with static shapes.

    Parameters
    ----------
    params : tf.Tensor [shape=(batch, d (d + 1) / 2)]
    latent_dim : int > 0
        ``d``.

    Returns
    -------
    scale_tril : tf.Tensor [shape=(batch, d, d)]
    """
    d = latent_dim
    index = _tril_index(d)
    padded = tf.pad(params, [[0, 0], [1, 0]])  # column 0 is the zero above the diagonal
    tril = tf.reshape(tf.gather(padded, index.reshape(-1), axis=-1), [-1, d, d])
    return tf.linalg.set_diag(tril, tf.nn.softplus(tf.linalg.diag_part(tril)) + 1e-5)


_TRIL_INDEX = {}


def _tril_index(d):
    """Where ``tfp.math.fill_triangular`` puts each entry: 1-based, 0 above the diagonal."""
    if d not in _TRIL_INDEX:
        import numpy as np
        import tensorflow_probability as tfp

        n = d * (d + 1) // 2
        with tf.init_scope():  # eager even when first called while tracing
            _TRIL_INDEX[d] = np.asarray(tfp.math.fill_triangular(np.arange(1, n + 1, dtype=np.float64))).astype(np.int32)
    return _TRIL_INDEX[d]


def _choice(name, value, choices):
    if value not in choices:
        raise ArchitectureError(f"{name} must be one of {choices}, got {value!r}")
    return value


def build_vae(settings, preset, *, seed=None, precision="float32", init="glorot"):
    """A VAE for data analysed with ``settings``, sized by ``preset``.

    Parameters
    ----------
    settings : AnalysisSettings
    preset : Preset
    seed : int or None
    precision : str
        The layers' arithmetic (see ``VAE``).
    init : {"glorot", "he"}
        How the ReLU layers' kernels start (the recipe's ``init``; see ``VAE``).
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
        detail_slots=preset.detail_slots,
        mix_weight=preset.mix_weight,
        frequency_decoder=preset.frequency_decoder,
        init=init,
        precision=precision,
        name="vae",
    )
