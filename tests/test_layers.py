import os
import numpy as np
import pytest

from morphlib.errors import ParameterError
from morphlib.model.layers import DetailBank, FrequencyConvSynthesis, SharedBias
from morphlib.model.vae import build_decoder, keras


def test_an_untrained_bank_adds_nothing_and_mixes_its_patterns():
    bank = DetailBank(3, 4, 5)
    w = np.array([[1.0, 0.0, 0.0], [0.5, 0.0, 2.0]], np.float32)
    assert np.all(np.asarray(bank(w)) == 0)
    patterns = np.random.default_rng(0).normal(size=(3, 20)).astype(np.float32)
    bank.patterns.assign(patterns)
    out = np.asarray(bank(w))
    assert out.shape == (2, 4, 5)
    np.testing.assert_allclose(out[0], patterns[0].reshape(4, 5), rtol=1e-6)
    np.testing.assert_allclose(out[1], (0.5 * patterns[0] + 2 * patterns[2]).reshape(4, 5), rtol=1e-5)


def test_layers_survive_a_keras_file(tmp_path):
    z = keras.Input((3,))
    out = SharedBias(name="bias")(DetailBank(3, 4, 5, name="bank")(z))
    model = keras.Model(z, out)
    model.get_layer("bank").patterns.assign(np.arange(60, dtype=np.float32).reshape(3, 20))
    model.get_layer("bias").bias.assign(0.5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    w = np.eye(3, dtype=np.float32)
    # the bank is kept in 8 bits per value: each frame's row within half of its step (range / 255)
    np.testing.assert_allclose(loaded(w), model(w), atol=0.5 * 4 / 255 + 1e-6)
    assert loaded.get_layer("bank").get_config()["slots"] == 3


def test_a_bank_file_is_a_quarter_of_float32_and_old_files_still_load(tmp_path, monkeypatch):
    def bank_model():
        z = keras.Input((8,))
        return keras.Model(z, DetailBank(8, 50, 200, name="bank")(z))

    model = bank_model()
    rng = np.random.default_rng(0)
    model.get_layer("bank").patterns.assign(rng.normal(size=(8, 50 * 200)).astype(np.float32))
    model.save(tmp_path / "new.keras")
    # as morphlib wrote banks before: float32, Keras' own layout
    monkeypatch.setattr(DetailBank, "save_own_variables", keras.layers.Layer.save_own_variables)
    model.save(tmp_path / "old.keras")
    monkeypatch.undo()
    assert os.path.getsize(tmp_path / "new.keras") < 0.3 * os.path.getsize(tmp_path / "old.keras")
    w = np.eye(8, dtype=np.float32)
    old = keras.saving.load_model(tmp_path / "old.keras")
    np.testing.assert_array_equal(old(w), model(w))
    new = keras.saving.load_model(tmp_path / "new.keras")
    step = (np.ptp(np.asarray(model(w)), axis=-1, keepdims=True)) / 255
    assert np.all(np.abs(np.asarray(new(w)) - np.asarray(model(w))) <= 0.5 * step + 1e-6)


@pytest.mark.parametrize("x", [np.zeros((2, 3)), np.full((2, 3), -7.5), np.array([[0.0, 1.0, 2.0], [5.0, -5.0, 0.1]])])
def test_rows_quantise_within_half_a_step(x):
    from morphlib.model.layers import dequantise_rows, quantise_rows

    codes, low, step = quantise_rows(x)
    assert codes.dtype == np.uint8 and low.shape == step.shape == (2, 1)
    assert np.all(np.abs(dequantise_rows(codes, low, step) - x) <= 0.5 * step + 1e-6)


def test_rows_quantise_in_fewer_bits_coarser_and_within_half_a_step():
    """``bits`` below 8 (what ``benchmarks/bank_bits.py`` hears): at most ``2 ** bits`` codes
    a row, off by at most half of a step that grows as the bits fall; a bad count is named."""
    from morphlib.model.layers import dequantise_rows, quantise_rows

    x = np.random.default_rng(0).normal(size=(5, 300)).astype(np.float32)
    worst = {}
    for bits in (8, 6, 4):
        codes, low, step = quantise_rows(x, bits=bits)
        back = dequantise_rows(codes, low, step)
        assert codes.max() == 2**bits - 1 and len(np.unique(codes[0])) <= 2**bits
        assert np.all(np.abs(back - x) <= 0.5 * step + 1e-6) and np.allclose(back.min(axis=1), x.min(axis=1))
        worst[bits] = float(np.abs(back - x).max())
    assert worst[4] > worst[6] > worst[8]
    assert np.array_equal(quantise_rows(x)[0], quantise_rows(x, bits=8)[0])  # a model file's codes as before
    with pytest.raises(ParameterError, match="bits"):
        quantise_rows(x, bits=9)


@pytest.mark.parametrize("args, match", [((0, 4, 5), "slots must be"), ((2, -1, 5), "n_frames must be"), ((2, 4, "x"), "n_bins must be")])
def test_bad_banks(args, match):
    with pytest.raises(ParameterError, match=match):
        DetailBank(*args)


def fit(decoder, z, target, steps):
    decoder.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    decoder.fit(z, target, epochs=steps, batch_size=len(z), verbose=0)
    return float(np.mean((np.asarray(decoder(z)) - target) ** 2))


def test_the_bank_reproduces_fine_structure_a_narrow_decoder_cannot():
    """Six loops of random fine structure, 24 frames of 40 bins: each frame a decoder 8 wide
    gives is a mix of the same 8 spectra, so it cannot reach them however long it trains;
    with a bank of 6 patterns it can."""
    rng = np.random.default_rng(0)
    z = 2 * np.eye(6, dtype=np.float32)  # six well-separated latent vectors
    target = (1.0 + rng.random((6, 40, 4))).astype(np.float32)
    keras.utils.set_random_seed(0)
    plain = fit(build_decoder(40, 4, latent_dim=6, hidden=8, output="softplus"), z, target, 200)
    keras.utils.set_random_seed(0)
    banked = fit(build_decoder(40, 4, latent_dim=6, hidden=8, output="softplus", detail_slots=6), z, target, 200)
    assert banked < 0.1 * plain, (banked, plain)


@pytest.mark.parametrize(
    "kind, kernel, strides, steps, error",
    [
        ("conv", 37, 37, 148, None),
        ("conv", 4, 4, 4, None),
        ("transpose", 37, 37, 4, None),
        ("transpose", 4, 4, 1, None),
        ("conv", 3, 1, 12, "needs kernel_size == strides"),
        ("transpose", 4, 2, 3, "needs kernel_size == strides"),
    ],
)
def test_patch_convolutions_compute_what_keras_convolutions_do(kind, kernel, strides, steps, error):
    import keras

    from morphlib.errors import ArchitectureError
    from morphlib.model.layers import PatchConv1D, PatchConv1DTranspose

    ours, theirs = (PatchConv1D, keras.layers.Conv1D) if kind == "conv" else (PatchConv1DTranspose, keras.layers.Conv1DTranspose)
    if error:
        with pytest.raises(ArchitectureError, match=error):
            ours(5, kernel, strides=strides)
        return
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((3, steps, 6)).astype(np.float32)
    a, b = ours(5, kernel, strides=strides, activation="relu"), theirs(5, kernel, strides=strides, activation="relu")
    a.build(x.shape)
    b.build(x.shape)
    a.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in a.get_weights()])
    b.set_weights(a.get_weights())  # the same shapes: weights move between the two
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)), rtol=1e-5, atol=1e-5)


def test_a_model_with_patch_convolutions_survives_a_keras_file(tmp_path):
    import keras

    from morphlib.model.layers import PatchConv1D, PatchConv1DTranspose

    x = keras.Input((8, 3))
    y = PatchConv1DTranspose(3, 2, strides=2)(PatchConv1D(4, 4, strides=4, activation="relu")(x))
    model = keras.Model(x, y)
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    data = np.random.default_rng(0).standard_normal((2, 8, 3)).astype(np.float32)
    assert [type(layer).__name__ for layer in again.layers[1:]] == ["PatchConv1D", "PatchConv1DTranspose"]
    np.testing.assert_allclose(np.asarray(again(data)), np.asarray(model(data)), rtol=1e-6)


@pytest.mark.parametrize("n_bins, stages", [(1025, 3), (2049, 3), (7, 2), (8, 3), (1, 1)])
def test_frequency_convolutions_give_every_bin_from_shared_kernels(n_bins, stages):
    layer = FrequencyConvSynthesis(n_bins, channels=4, stages=stages, kernel_size=3)
    x = np.random.default_rng(1).normal(size=(2, 5, 6)).astype(np.float32)
    out = np.asarray(layer(x))
    assert out.shape == (2, 5, n_bins) and np.all(np.isfinite(out))
    assert layer.n_coarse * 2 ** stages >= n_bins > (layer.n_coarse - 1) * 2 ** stages
    # one kernel for every bin: a coarse spectrum the same at every bin gives the same value
    # at every bin away from the edges, whatever the bin count
    layer.projection.assign(np.tile(np.random.default_rng(2).normal(size=(6, 1, 4)), (1, layer.n_coarse, 1)).reshape(6, -1))
    flat = np.asarray(layer(x))
    inner = flat[..., 2 ** stages * 2 : -(2 ** stages * 2) - (layer.n_coarse * 2 ** stages - n_bins)]
    if inner.shape[-1]:
        np.testing.assert_allclose(inner, np.broadcast_to(inner[..., :1], inner.shape), rtol=1e-5, atol=1e-6)


def test_frequency_convolutions_survive_a_keras_file(tmp_path):
    z = keras.Input((3, 6))
    model = keras.Model(z, FrequencyConvSynthesis(100, channels=3, name="freq")(z))
    model.save(tmp_path / "f.keras")
    loaded = keras.saving.load_model(tmp_path / "f.keras")
    x = np.random.default_rng(3).normal(size=(2, 3, 6)).astype(np.float32)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
    assert loaded.get_layer("freq").get_config()["channels"] == 3


@pytest.mark.parametrize("kwargs, match", [(dict(n_bins=0), "n_bins must be"), (dict(n_bins=9, stages=0), "stages must be"),
                                           (dict(n_bins=9, channels=1.5), "channels must be")])
def test_bad_frequency_convolutions(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        FrequencyConvSynthesis(**kwargs)
