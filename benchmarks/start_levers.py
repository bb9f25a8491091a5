"""Levers on how a run starts, tried against the tutorial preset's plateau (``plateau.py --levers``).

The tutorial preset first learns the loops' mean spectrum and sits there; the He start of
its ReLU layers (the default recipe's) is the lever that was kept. These are the others
that were tried, each a change to the model, its optimizer or its data as training begins,
so that ``plateau.py`` measures them on the same run as the rest:

- ``leaky-output``: the decoder's last ReLU leaks (slope 0.01 below 0), so that a bin the
  decoder pushed below 0 still gets a gradient;
- ``bias-at-mean``: the decoder's output bias (the tutorial's one shared scalar) starts at
  the loops' mean magnitude instead of 0;
- ``small-posterior``: the posterior's scales start at about 0.01 (softplus of the tutorial
  start's raw values: about 0.7), so that the first decodes are not of noise;
- ``kl-ramp``: the KL term's weight rises from 0 to the preset's ``beta`` over the warm-up;
- ``noise-ramp``: the posterior's noise rises from 0 to full over the warm-up;
- ``adam-beta2-0.99``: Adam's β₂ 0.99 instead of 0.999 (a shorter memory of the gradients' size);
- ``unit-rms``: the loops scaled to unit RMS over the whole set (the tutorial's are raw |STFT|).

The warm-up is the recipe's (the default recipe's: 40 % of the epochs), or 40 % where the
recipe has none (the tutorial's constant rate). Constant rates other than the tutorial's are
recipes, not levers: ``tutorial:peak=0.3`` is a constant 3e-4.
"""

import dataclasses

import numpy as np

LEVERS = ("leaky-output", "bias-at-mean", "small-posterior", "kl-ramp", "noise-ramp", "adam-beta2-0.99", "unit-rms")
#: The fraction of the epochs a ramp takes where the recipe has no warm-up of its own.
RAMP = 0.4
LEAK = 0.01
SMALL_SCALE = 0.01


def check(names):
    """``names`` if each is a lever, else SystemExit naming the one that is not."""
    from common import known

    return known(names, LEVERS, "lever")


def scaled_loops(loops, names):
    """``loops`` at unit RMS if ``unit-rms`` is among ``names``, else as they are."""
    if "unit-rms" not in names:
        return loops
    S = np.asarray(loops.S, np.float32)
    return dataclasses.replace(loops, S=S / np.sqrt(np.mean(np.square(S))))


def shape_like(vae, names):
    """What the levers change in the model's layers, on ``vae`` (a copy that judges the
    trained one must decode as it does)."""
    if "leaky-output" in names:
        vae.decoder.get_layer("non_negative").negative_slope = LEAK


def start_callback(names, loops, ramp_epochs):
    """A Keras callback that applies ``names`` as training begins, and moves the ramps at the
    start of each epoch (from 0 at epoch 0 to 1 at ``ramp_epochs``)."""
    from morphlib.model.backend import keras_callback_base, keras_tf_tfp

    _, tf, _ = keras_tf_tfp()

    class StartLevers(keras_callback_base()):
        def on_train_begin(self, logs=None):
            vae = self.model  # before its training step is first traced: what it reads then holds
            self.ramp = tf.Variable(0.0, trainable=False)
            shape_like(vae, names)
            if "bias-at-mean" in names:
                mean = float(np.mean(np.asarray(vae.compress(np.asarray(loops.S[: min(len(loops), 256)], np.float32)))))
                vae.decoder.get_layer("output_bias").bias.assign(mean)
            if "small-posterior" in names:
                small_posterior(vae)
            if "kl-ramp" in names:
                kl = vae._kl
                vae._kl = lambda loc, scale: self.ramp * kl(loc, scale)
            if "noise-ramp" in names:
                sample = vae._sample
                vae._sample = lambda loc, scale: loc + self.ramp * (sample(loc, scale) - loc)
            if "adam-beta2-0.99" in names:
                vae.optimizer.beta_2 = 0.99

        def on_epoch_begin(self, epoch, logs=None):
            self.ramp.assign(min(1.0, epoch / max(ramp_epochs, 1)))

    return StartLevers()


def small_posterior(vae):
    """The posterior's scales (the diagonal of its Cholesky factor, or its standard
    deviations) start at about ``SMALL_SCALE`` for every input, its other entries at about 0:
    the scale part of ``posterior_params``' kernel shrunk 100 times, its bias set."""
    from morphlib.model.vae import _tril_index

    layer = vae.encoder.get_layer("posterior_params")
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    d = vae.latent_dim
    diagonal = np.arange(d) if vae.posterior_kind == "diag" else np.diagonal(_tril_index(d)) - 1
    raw = float(np.log(np.expm1(SMALL_SCALE)))  # softplus⁻¹
    kernel[:, d:] *= 0.01
    bias[d:] = 0.0
    bias[d + diagonal] = raw
    layer.set_weights([kernel, bias])
