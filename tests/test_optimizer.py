import numpy as np
import pytest

from morphlib.model.vae import keras
from morphlib.training.optimizer import FusedAdam


def run(optimizer, grads, w0):
    w = keras.Variable(w0.copy())
    for g in grads:
        optimizer.apply_gradients([(g, w)])
    return np.asarray(w)


@pytest.mark.parametrize("kwargs", [{}, {"learning_rate": 0.05, "beta_1": 0.5, "epsilon": 1e-3}, {"amsgrad": True},
                                    {"learning_rate": 0.05, "weight_decay": 0.5}])
def test_fused_adam_takes_keras_adams_steps(kwargs):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(6, 5)).astype(np.float32)
    grads = [rng.normal(size=(6, 5)).astype(np.float32) * (k + 1) for k in range(15)]
    ours = run(FusedAdam(**kwargs), grads, w0)
    theirs = run(keras.optimizers.Adam(**kwargs), grads, w0)
    assert np.abs(ours - w0).max() > 0.01  # it moved
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-5)


def test_fused_adam_fuses_only_what_it_can():
    import tensorflow as tf

    opt = FusedAdam()
    w = keras.Variable(np.zeros((4, 3), np.float32))
    assert opt._fusable(tf.zeros((4, 3)), w)
    assert not opt._fusable(tf.IndexedSlices(tf.zeros((1, 3)), tf.constant([0])), w)
    assert not FusedAdam(amsgrad=True)._fusable(tf.zeros((4, 3)), w)
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert not opt._fusable(tf.zeros((4, 3)), w)


def test_fused_adam_with_a_schedule_and_loss_scaling():
    """What training uses: a learning rate assigned per epoch, and float16's loss scaling."""
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(3, 3)).astype(np.float32)
    grads = [rng.normal(size=(3, 3)).astype(np.float32) for _ in range(5)]
    a, b = FusedAdam(learning_rate=0.01), keras.optimizers.Adam(learning_rate=0.01)
    for opt in (a, b):
        opt.learning_rate.assign(0.03)
    np.testing.assert_allclose(run(a, grads, w0), run(b, grads, w0), rtol=1e-5, atol=2e-5)
    scaled = keras.optimizers.LossScaleOptimizer(FusedAdam(learning_rate=0.01))
    plain = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=0.01))
    np.testing.assert_allclose(run(scaled, grads, w0), run(plain, grads, w0), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("preset, precision, clipnorm, scaled", [
    ("tutorial", "float32", None, False), ("studio", "mixed_bfloat16", 1.0, False), ("studio", "mixed_float16", 1.0, True)])
def test_training_builds_the_presets_optimizer(preset, precision, clipnorm, scaled):
    from morphlib.config import get_preset
    from morphlib.training.optimizer import make_optimizer

    opt = make_optimizer(get_preset(preset), precision)
    assert isinstance(opt, keras.optimizers.LossScaleOptimizer) == scaled
    inner = opt.inner_optimizer if scaled else opt
    assert isinstance(inner, FusedAdam) and inner.clipnorm == clipnorm
    assert float(np.asarray(inner.learning_rate)) == pytest.approx(get_preset(preset).learning_rate)


def test_fused_adam_clips_as_keras_adam_does():
    """Clipping happens before the fused update: gradients whose norms jump by 10^6 from
    step to step move the weights as Keras' clipped Adam does, not as unclipped Adam."""
    rng = np.random.default_rng(2)
    w0 = np.zeros((4,), np.float32)
    grads = [rng.normal(size=(4,)).astype(np.float32) * 10.0 ** (6 * (k % 2)) for k in range(6)]
    clipped = run(FusedAdam(learning_rate=0.1, clipnorm=1.0), grads, w0)
    np.testing.assert_allclose(clipped, run(keras.optimizers.Adam(learning_rate=0.1, clipnorm=1.0), grads, w0), rtol=1e-5, atol=2e-5)
    assert np.abs(clipped - run(FusedAdam(learning_rate=0.1), grads, w0)).max() > 0.01


def _factored_reference(w0, grads, lr=0.001, beta_2=0.999, eps=1e-7):
    """Adafactor without momentum, in NumPy: what the factored update must compute."""
    w, row, col = w0.astype(np.float64).copy(), np.zeros((w0.shape[0], 1)), np.zeros((1, w0.shape[1]))
    for t, g in enumerate(grads, start=1):
        g2 = g.astype(np.float64) ** 2 + 1e-30
        row = beta_2 * row + (1 - beta_2) * g2.mean(1, keepdims=True)
        col = beta_2 * col + (1 - beta_2) * g2.mean(0, keepdims=True)
        v = row * col / (row.mean() * (1 - beta_2 ** t))  # the second moment, factored and bias-corrected
        w -= lr * g / np.sqrt(v + eps ** 2 * (row + col))
    return w


def test_factored_moments_take_adafactors_steps_and_keep_a_row_and_a_column():
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(6, 40)).astype(np.float32)
    # a rank-one-ish gradient, as a detail bank's: a loop's weight times the error in a cell
    grads = [np.outer(rng.normal(size=6), rng.normal(size=40)).astype(np.float32) for _ in range(12)]
    w = keras.Variable(w0.copy(), name="patterns")
    opt = FusedAdam(learning_rate=0.01, factored=("patterns",))
    for g in grads:
        opt.apply_gradients([(g, w)])
    np.testing.assert_allclose(np.asarray(w), _factored_reference(w0, grads, lr=0.01), rtol=1e-4, atol=1e-5)
    sizes = sorted(int(np.prod(v.shape)) for v in opt.variables if len(v.shape) == 2)
    assert sizes == [6, 40]  # not two 6 x 40 moments
    # and a variable not named is Adam's as before
    other = keras.Variable(w0.copy(), name="kernel")
    opt2 = FusedAdam(learning_rate=0.01, factored=("patterns",))
    ref = keras.optimizers.Adam(learning_rate=0.01)
    ours, theirs = run(opt2, grads, w0), run(ref, grads, w0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-5)
    assert FusedAdam(factored=("patterns",)).get_config()["factored"] == ["patterns"]


@pytest.mark.parametrize("moments, factored", [("full", ()), ("factored", ("detail_bank",))])
def test_presets_say_which_moments_the_bank_gets(moments, factored):
    from morphlib.config import Preset
    from morphlib.training.optimizer import make_optimizer

    assert make_optimizer(Preset("x", detail_slots=4, detail_moments=moments)).factored == factored


def test_presets_weight_decay_reaches_the_optimizer():
    from morphlib.config import Preset
    from morphlib.training.optimizer import make_optimizer

    assert make_optimizer(Preset("x", weight_decay=0.05)).weight_decay == 0.05
    assert make_optimizer(Preset("x")).weight_decay is None


def test_bad_detail_moments():
    from morphlib.config import Preset
    from morphlib.errors import ParameterError

    with pytest.raises(ParameterError, match="detail_moments must be 'full' or 'factored', got 'half'"):
        Preset("x", detail_moments="half")
