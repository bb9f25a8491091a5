"""The article's Conv2D network and morphlib's: the same parameters, the same arithmetic."""

import numpy as np
import pytest

from morphlib.model import article
from morphlib.config import get_preset
from morphlib.model.vae import build_vae

from .conftest import TINY


def _article_models(n_bins, n_frames, latent, hidden, strides):
    """The article's layers (as notebook 02 writes them), built but never run (a Conv2D over all bins aborts on CPU)."""
    import keras
    from keras import layers as L

    s1, s2 = strides
    x = keras.Input((n_bins, n_frames, 1))
    h = L.Conv2D(hidden, (n_bins, 1), activation="relu")(x)
    h = L.Conv2D(hidden, (1, s1), strides=(1, s1), activation="relu")(h)
    h = L.Conv2D(hidden, (1, s2), strides=(1, s2), activation="relu")(h)
    encoder = keras.Model(x, L.Dense(latent + latent * (latent + 1) // 2)(L.Flatten()(h)))
    z = keras.Input((latent,))
    g = L.Reshape((1, 1, hidden))(L.Dense(hidden, activation="relu")(z))
    g = L.Conv2DTranspose(hidden, (1, s2), strides=(1, s2), activation="relu")(g)
    g = L.Conv2DTranspose(hidden, (1, s1), strides=(1, s1), activation="relu")(g)
    return encoder, keras.Model(z, L.Conv2DTranspose(1, (n_bins, 1), activation="relu")(g))


@pytest.fixture(scope="module")
def pair():
    vae = build_vae(TINY, get_preset("tiny"), seed=3)
    encoder, decoder = _article_models(*TINY.shape, vae.latent_dim, vae.hidden, vae.time_strides)
    encoder.set_weights(article.encoder_weights(vae))
    decoder.set_weights(article.decoder_weights(vae))
    return vae, encoder, decoder


def test_the_same_number_of_parameters(pair):
    vae, encoder, decoder = pair
    assert encoder.count_params() + decoder.count_params() == vae.n_params


def test_the_article_encoder_computes_morphlibs(pair):
    vae, encoder, _ = pair
    x = np.random.default_rng(0).random((3, *TINY.shape), np.float32)
    np.testing.assert_allclose(article.run_encoder(encoder.get_weights(), x), np.asarray(vae.encoder(x)), rtol=1e-4, atol=1e-5)


def test_the_article_decoder_computes_morphlibs(pair):
    vae, _, decoder = pair
    z = np.random.default_rng(1).standard_normal((3, vae.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(article.run_decoder(decoder.get_weights(), z), np.asarray(vae.decode(z)), rtol=1e-4, atol=1e-5)


def test_a_wrong_weight_is_noticed(pair):
    vae, encoder, _ = pair
    weights = encoder.get_weights()
    weights[2] = weights[2][:, ::-1]  # the 37-frame kernel's steps reversed
    x = np.random.default_rng(0).random((2, *TINY.shape), np.float32)
    assert not np.allclose(article.run_encoder(weights, x), np.asarray(vae.encoder(x)), rtol=1e-4, atol=1e-5)
