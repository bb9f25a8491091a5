import os

import numpy as np
import pytest

from morphlib.errors import ParameterError
from morphlib.model import VAE, build_decoder, build_encoder, keras, time_strides

TUTORIAL_PARAMS = 5_943_449


@pytest.mark.parametrize("n_frames, strides", [(148, (37, 4)), (16, (4, 4)), (149, (149, 1)), (216, (18, 12)), (1, (1, 1))])
def test_time_strides(n_frames, strides):
    assert time_strides(n_frames) == strides


def test_tutorial_preset_has_the_tutorial_parameter_count():
    vae = VAE()  # defaults are the tutorial's
    assert vae.encoder.count_params() == 2_989_208
    assert vae.decoder.count_params() == 2_954_241
    assert vae.n_params == TUTORIAL_PARAMS


def test_tutorial_preset_trains_at_full_size_with_default_tensorflow_settings():
    # The tutorial's Conv2D over 1025 bins aborts the process here under oneDNN.
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    vae = VAE(seed=0)
    vae.compile(optimizer=keras.optimizers.Adam())
    x = np.random.default_rng(0).random((2, 1025, 148), dtype=np.float32)
    before = vae.decoder.get_weights()[0].copy()
    logs = vae.train_on_batch(x, return_dict=True)
    assert set(logs) == {"loss", "mse", "kl"} and np.isfinite(logs["loss"])
    assert not np.array_equal(before, vae.decoder.get_weights()[0])


def test_encoder_and_decoder_work_alone():
    enc = build_encoder(129, 16, latent_dim=4, hidden=8)
    dec = build_decoder(129, 16, latent_dim=4, hidden=8)
    assert enc.name == "encoder" and dec.name == "decoder"
    assert enc.output_shape == (None, 4 + 10)
    out = dec(np.zeros((3, 4), np.float32))
    assert out.shape == (3, 129, 16) and np.all(np.asarray(out) >= 0)


def test_encode_returns_the_mean_unless_sampling():
    vae = VAE(129, 16, latent_dim=4, hidden=8, seed=1)
    x = np.random.default_rng(1).random((2, 129, 16), dtype=np.float32)
    np.testing.assert_array_equal(vae.encode(x), vae.encode(x))
    assert not np.allclose(vae.encode(x, sample=True), vae.encode(x))
    np.testing.assert_allclose(vae(x), vae.decode(vae.encode(x)), rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [({"strides": (5, 3)}, "do not fit 16 frames"), ({"beta": -1}, "beta"), ({"latent_dim": 0}, "latent_dim")])
def test_bad_architectures_say_what_fits(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        VAE(129, 16, hidden=8, **kwargs)


def test_config_roundtrip_and_keras_file(tmp_path):
    vae = VAE(129, 16, latent_dim=3, hidden=8, strides=(8, 2), beta=0.5, seed=4, name="vae")
    config = vae.get_config()
    assert {k: config[k] for k in ("n_bins", "n_frames", "latent_dim", "hidden", "strides", "beta", "seed")} == {
        "n_bins": 129, "n_frames": 16, "latent_dim": 3, "hidden": 8, "strides": [8, 2], "beta": 0.5, "seed": 4,
    }
    clone = VAE.from_config(config)
    assert clone.n_params == vae.n_params and clone.time_strides == (8, 2)
    path = str(tmp_path / "m.keras")
    vae.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(2).random((1, 129, 16), dtype=np.float32)
    np.testing.assert_allclose(loaded.encode(x), vae.encode(x))
