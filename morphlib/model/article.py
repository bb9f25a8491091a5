"""The tutorial article's network as the article writes it, and the proof that morphlib's is the same.

The article ("CNN-VAEで音源モーフィング", 2023-05-31) builds its encoder from ``Conv2D``
layers over the ``(1025, 148, 1)`` spectrogram and its decoder from ``Conv2DTranspose``.
On today's TensorFlow for CPUs, a ``Conv2D`` whose kernel spans all 1025 bins aborts the
process (oneDNN: "Check failed: dtype() == expected_dtype"), forward pass included. So
morphlib computes the same thing with layers that run: a Dense over each frame's bins
(the ``(1025, 1)`` kernel), and convolutions over the frames whose kernel equals their
stride (``PatchConv1D``: the ``(1, 37)`` and ``(1, 4)`` kernels).

This module takes a morphlib VAE's weights in the shapes of the article's layers
(:func:`encoder_weights`, :func:`decoder_weights`, for ``set_weights`` on a model built
as notebook 02 builds the article's), and runs the article's layers with NumPy, the
arithmetic of each written out (:func:`run_encoder`, :func:`run_decoder`), so that the two
can be compared without the layer that crashes.
"""

import numpy as np


def _by_name(model, name):
    return [np.asarray(w) for w in model.get_layer(name).get_weights()]


def encoder_weights(vae):
    """morphlib's encoder weights in the article's layer shapes.

    Returns
    -------
    weights : list of np.ndarray
        For ``Conv2D(hidden, (n_bins, 1))``, ``Conv2D(hidden, (1, s1), strides=(1, s1))``,
        ``Conv2D(hidden, (1, s2), strides=(1, s2))`` and ``Dense(n_posterior)``: kernel,
        bias each, in that order (an article encoder's ``get_weights()`` order).
    """
    (k0, b0), (k1, b1), (k2, b2), (kd, bd) = (_by_name(vae.encoder, n) for n in
                                               ("frequency_projection", "time_conv_1", "time_conv_2", "posterior_params"))
    return [k0[:, None, None, :], b0, k1[None], b1, k2[None], b2, kd, bd]


def decoder_weights(vae):
    """morphlib's decoder weights in the article's layer shapes: ``Dense(hidden)``, then
    ``Conv2DTranspose`` with kernels ``(1, s2)``, ``(1, s1)`` and ``(n_bins, 1)`` (kernel,
    bias each, in that order). The last one's bias is one number: morphlib's ``SharedBias``."""
    (kd, bd), (k2, b2), (k1, b1), (kf,), (bias,) = (_by_name(vae.decoder, n) for n in
                                                     ("expand", "time_upsample_2", "time_upsample_1", "frequency_synthesis", "output_bias"))
    return [kd, bd, k2[None], b2, k1[None], b1, kf.T[:, None, None, :], np.reshape(bias, (1,))]


def _relu(x):
    return np.maximum(x, 0.0)


def run_encoder(weights, x):
    """The article's encoder in NumPy: what its Conv2D layers compute.

    Parameters
    ----------
    weights : list of np.ndarray
        An article encoder's ``get_weights()``.
    x : np.ndarray [shape=(n, n_bins, n_frames)]
        Linear magnitude.

    Returns
    -------
    params : np.ndarray [shape=(n, n_posterior)]
        The posterior's parameters (the Dense layer's output).
    """
    k0, b0, k1, b1, k2, b2, kd, bd = weights
    n = len(x)
    # Conv2D (n_bins, 1): each frame's whole spectrum → hidden features
    h = _relu(np.einsum("nft,fc->ntc", x, k0[:, 0, 0, :]) + b0)
    # Conv2D (1, s1), stride s1: each run of s1 frames → one step
    s1 = k1.shape[1]
    h = _relu(np.einsum("nskc,kcd->nsd", h.reshape(n, -1, s1, h.shape[-1]), k1[0]) + b1)
    # Conv2D (1, s2), stride s2: the remaining steps → one vector
    h = _relu(np.einsum("nkc,kcd->nd", h, k2[0]) + b2)
    return h @ kd + bd


def run_decoder(weights, z):
    """The article's decoder in NumPy: what its Conv2DTranspose layers compute.

    Parameters
    ----------
    weights : list of np.ndarray
        An article decoder's ``get_weights()``.
    z : np.ndarray [shape=(n, latent_dim)]

    Returns
    -------
    S : np.ndarray [shape=(n, n_bins, n_frames)]
        Linear magnitude (the last ReLU's output).
    """
    kd, bd, k2, b2, k1, b1, kf, bf = weights
    n = len(z)
    g = _relu(z @ kd + bd)
    # Conv2DTranspose (1, s2), stride s2: one vector → s2 steps (kernel: width, out, in)
    g = _relu(np.einsum("nc,kdc->nkd", g, k2[0]) + b2)
    # Conv2DTranspose (1, s1), stride s1: each step → s1 frames
    g = _relu(np.einsum("nsc,kdc->nskd", g, k1[0]).reshape(n, -1, g.shape[-1]) + b1)
    # Conv2DTranspose (n_bins, 1): each frame's features → its whole spectrum
    return _relu(np.einsum("ntc,fc->nft", g, kf[:, 0, 0, :]) + bf)
