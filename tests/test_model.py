import os

import numpy as np
import pytest

from morphlib.errors import ParameterError
from morphlib.model.vae import VAE, build_decoder, build_encoder, keras, time_strides

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


@pytest.mark.parametrize("init, gain", [("glorot", None), ("he", 2.0)])
def test_relu_kernels_start_as_the_init_says(init, gain):
    """He-uniform: variance 2 / fan_in; Glorot-uniform: 2 / (fan_in + fan_out). The
    posterior's and the spectrum's linear layers keep Glorot either way."""
    keras.utils.set_random_seed(0)
    vae = VAE(257, 16, latent_dim=4, hidden=64, strides=(4, 4), detail_slots=2, init=init)
    layers = {l.name: l for m in (vae.encoder, vae.decoder) for l in m.layers}
    for name in ("frequency_projection", "time_conv_1", "time_conv_2", "expand", "time_upsample_2", "time_upsample_1", "detail_hidden",
                 "posterior_params", "frequency_synthesis"):
        kernel = np.asarray(layers[name].kernel)
        receptive = int(np.prod(kernel.shape[:-2]))
        fan_in, fan_out = kernel.shape[-2] * receptive, kernel.shape[-1] * receptive
        relu = name not in ("posterior_params", "frequency_synthesis")
        expected = gain / fan_in if relu and gain else 2.0 / (fan_in + fan_out)
        assert np.var(kernel) == pytest.approx(expected, rel=0.15), name
    assert vae.get_config()["init"] == init and VAE.from_config(vae.get_config()).init == init


STUDIO_TINY = dict(latent_dim=4, hidden=8, compression="log", output_activation="softplus", linear_weight=1.0, posterior="diag", detail_slots=3)


def test_studio_options_keep_the_interface_and_never_decode_holes(tmp_path):
    vae = VAE(129, 16, seed=3, name="vae", **STUDIO_TINY)
    x = np.random.default_rng(3).random((2, 129, 16), dtype=np.float32) * 50
    S = np.asarray(vae.decode(vae.encode(x)))
    assert S.shape == (2, 129, 16) and np.all(S > 0)  # softplus: no bin at exactly 0, linear magnitude out
    np.testing.assert_allclose(vae.expand(vae.compress(x)), x, rtol=1e-4, atol=1e-5)
    assert vae.encoder.output_shape == (None, 2 * 4)  # a diagonal posterior: means and scales
    vae.compile(optimizer=keras.optimizers.Adam())
    logs = vae.train_on_batch(x, return_dict=True)
    assert set(logs) == {"loss", "mse", "kl"} and np.isfinite(logs["loss"])
    config = vae.get_config()
    assert {k: config[k] for k in STUDIO_TINY} == STUDIO_TINY
    path = str(tmp_path / "studio.keras")
    vae.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.decode(loaded.encode(x)), vae.decode(vae.encode(x)), rtol=1e-4)


def test_a_convolutional_frequency_decoder_trains_and_is_saved(tmp_path):
    vae = VAE(129, 16, seed=3, name="vae", frequency_decoder="conv", **STUDIO_TINY)
    dense = VAE(129, 16, seed=3, name="vae", **STUDIO_TINY)
    assert type(vae.decoder.get_layer("frequency_synthesis")).__name__ == "FrequencyConvSynthesis"
    assert vae.decoder.count_params() != dense.decoder.count_params()
    x = np.random.default_rng(4).random((2, 129, 16), dtype=np.float32) * 50
    vae.compile(optimizer=keras.optimizers.Adam())
    before = np.asarray(vae.decode(vae.encode(x)))
    assert np.isfinite(vae.train_on_batch(x, return_dict=True)["loss"])
    assert not np.allclose(vae.decode(vae.encode(x)), before)
    assert vae.get_config()["frequency_decoder"] == "conv"
    path = str(tmp_path / "conv.keras")
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.frequency_decoder == "conv"
    np.testing.assert_allclose(loaded.decode(loaded.encode(x)), vae.decode(vae.encode(x)), rtol=1e-4)


def test_the_log_loss_hears_quiet_bins():
    """A quiet bin 40 dB down, decoded as silence, costs the linear loss nearly nothing and
    the log loss a lot: what makes hats and decays worth keeping."""
    import tensorflow as tf

    lin = VAE(129, 16, latent_dim=2, hidden=4)
    log = VAE(129, 16, latent_dim=2, hidden=4, compression="log", output_activation="softplus")
    x = np.full((1, 129, 16), 100.0, np.float32)
    quiet = x.copy()
    quiet[0, 100:] = 1.0  # the top bins 40 dB down
    dropped = x.copy()
    dropped[0, 100:] = 0.0
    err = lambda m, a, b: float(tf.reduce_mean(tf.square(m.compress(a) - m.compress(b))))  # noqa: E731
    lin_ratio = err(lin, quiet, dropped) / err(lin, x, 0.9 * x)
    log_ratio = err(log, quiet, dropped) / err(log, x, 0.9 * x)
    assert lin_ratio < 0.01 and log_ratio > 5 and log_ratio > 1000 * lin_ratio


@pytest.mark.parametrize(
    "kwargs, match",
    [({"compression": "mp3"}, "compression must be one of"), ({"output_activation": "tanh"}, "output_activation must be one of"),
     ({"posterior": "student"}, "posterior must be one of"), ({"floor": 0}, "floor must be > 0"), ({"linear_weight": -1}, "linear_weight"),
     ({"detail_slots": -1}, "detail_slots must be"), ({"detail_slots": 2.5}, "detail_slots must be"),
     ({"mix_weight": -0.1}, "mix_weight must be >= 0"), ({"frequency_decoder": "fft"}, "frequency_decoder must be one of"),
     ({"init": "orthogonal"}, "init must be one of .*'orthogonal'")],
)
def test_bad_studio_options(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        VAE(129, 16, hidden=8, **kwargs)


@pytest.mark.parametrize("posterior", ["full", "diag"])
def test_plain_tensorflow_posterior_matches_tfp(posterior):
    """Sampling and KL are plain TF ops (XLA, mixed precision); they must equal TFP's."""
    import tensorflow_probability as tfp

    from morphlib.model.backend import keras_tf_tfp
    from morphlib.model.vae import VAE, fill_scale_tril

    _, tf, tfd = keras_tf_tfp()
    raw = np.random.default_rng(0).normal(size=(3, 10)).astype("float32")
    np.testing.assert_allclose(fill_scale_tril(tf.constant(raw), 4), tfp.bijectors.FillScaleTriL()(raw), atol=1e-6)
    vae = VAE(32, 8, latent_dim=4, hidden=8, posterior=posterior, seed=1)
    x = np.abs(np.random.default_rng(1).normal(size=(5, 32, 8))).astype("float32")
    loc, scale = vae.posterior_params(x)
    expected = tfd.kl_divergence(vae.posterior(x), vae.prior())
    np.testing.assert_allclose(vae._kl(loc, scale), expected, rtol=1e-5, atol=1e-5)


def test_peakiness_is_one_for_an_even_flux_and_grows_with_hits():
    from morphlib.model.vae import peakiness, tf

    frames = np.arange(64)
    drone = np.tile(frames.astype(np.float32), (1, 8, 1))  # rises by the same amount every frame
    hits = np.zeros((1, 8, 64), np.float32)
    hits[..., ::16] = 5.0  # four hits
    washed = hits + np.random.default_rng(0).random((1, 8, 64)).astype(np.float32) * 4.0
    p = [float(peakiness(tf.constant(y))[0]) for y in (drone, hits, washed)]
    assert p[0] == pytest.approx(1.0, abs=1e-3) and p[1] > 3 > p[2] > 1


def test_the_mid_morph_term_trains_and_is_saved(tmp_path):
    vae = VAE(129, 16, hidden=8, seed=1, mix_weight=0.5, **{k: v for k, v in STUDIO_TINY.items() if k != "hidden"})
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((8, 129, 16), dtype=np.float32)
    history = vae.fit(x, epochs=2, batch_size=4, verbose=0).history
    assert set(history) == {"loss", "mse", "kl", "mix"} and all(np.isfinite(v).all() for v in history.values())
    assert vae.get_config()["mix_weight"] == 0.5 and VAE.from_config(vae.get_config()).mix_weight == 0.5
    plain = VAE(129, 16, hidden=8, seed=1, **{k: v for k, v in STUDIO_TINY.items() if k != "hidden"})
    assert [m.name for m in plain.metrics] == ["loss", "mse", "kl"]  # models without it keep their history columns


@pytest.mark.parametrize("studio", [False, True])
def test_a_step_given_the_posterior_is_the_step_that_encodes_it(studio):
    """A frozen encoder's posterior, computed once, trains the decoder exactly as encoding
    every batch does (newloops: the minute of adding runs only the decoder)."""
    import tensorflow as tf

    kwargs = {k: v for k, v in STUDIO_TINY.items() if k not in ("hidden", "latent_dim")} if studio else {}
    x = np.random.default_rng(0).random((4, 129, 16), dtype=np.float32)
    vaes = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        vae = VAE(129, 16, latent_dim=4, hidden=8, seed=5, **kwargs)
        vae.encoder.trainable = False
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        vae.optimizer.build(vae.trainable_variables)
        vaes.append(vae)
    before = [np.asarray(w) for w in vaes[0].decoder.weights]
    step = tf.function(vaes[1].train_step_given_posterior)
    for k in range(2):
        encoded = vaes[0].train_on_batch(x, return_dict=True)
        given = step(tf.constant(x), *vaes[1].posterior_params(x))
        if k == 0:
            assert float(given["loss"]) == pytest.approx(encoded["loss"], rel=1e-5)
    for a, b, w0 in zip(vaes[0].decoder.weights, vaes[1].decoder.weights, before):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(np.asarray(a), w0) for a, w0 in zip(vaes[0].decoder.weights, before))  # it did train
    for a, b in zip(vaes[0].encoder.weights, vaes[1].encoder.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
