import numpy as np
import pytest

from morphlib.errors import ParameterError, UnknownSoundError
from morphlib.model.morphmodel import check_alpha, interpolate
from morphlib.morphing.morphs import crossfade, morph

from .conftest import TINY

Z_A = np.array([1.0, 0.0, 2.0], np.float32)
Z_B = np.array([0.0, 3.0, -1.0], np.float32)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_alpha_zero_is_a_and_one_is_b(method):
    np.testing.assert_allclose(interpolate(Z_A, Z_B, 0, method=method), Z_A, atol=1e-6)
    np.testing.assert_allclose(interpolate(Z_A, Z_B, 1, method=method), Z_B, atol=1e-6)


def test_linear_follows_the_convention():
    np.testing.assert_allclose(interpolate(Z_A, Z_B, 0.25), 0.75 * Z_A + 0.25 * Z_B, rtol=1e-6)


def test_spherical_keeps_the_norm_between_the_ends():
    z = interpolate(Z_A, Z_B, 0.5, method="spherical")
    lin = interpolate(Z_A, Z_B, 0.5)
    assert np.linalg.norm(z) == pytest.approx(0.5 * (np.linalg.norm(Z_A) + np.linalg.norm(Z_B)), rel=1e-5)
    assert np.linalg.norm(z) > np.linalg.norm(lin)
    np.testing.assert_allclose(interpolate(Z_A, 2 * Z_A, 0.5, method="spherical"), 1.5 * Z_A, rtol=1e-5)  # parallel
    np.testing.assert_allclose(interpolate(np.zeros(3), Z_B, 0.5, method="spherical"), 0.5 * Z_B, rtol=1e-5)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, "half", None, float("nan")])
def test_alpha_out_of_range_fails_early(alpha):
    with pytest.raises(ParameterError, match="alpha"):
        check_alpha(alpha)


def test_morph_writes_audio_that_never_clips(tiny_model, tiny_loops):
    ms = morph(tiny_model, "Loop A", 3, [0.0, 0.5, 1.0], loops=tiny_loops, n_iter=4)
    assert [m.alpha for m in ms] == [0.0, 0.5, 1.0]
    assert ms[0].a == "Loop A" and ms[0].b == "Loop D"
    for m in ms:
        assert m.S.shape == TINY.shape and m.y.shape == (TINY.n_samples,) and m.sr == TINY.sr
        assert np.all(np.isfinite(m.y)) and np.max(np.abs(m.y)) <= 0.99
    R = tiny_model.reconstruct(tiny_loops.S[[0, 3]])
    np.testing.assert_allclose(ms[0].S, R[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ms[-1].S, R[1], rtol=1e-4, atol=1e-5)


def test_morph_is_reproducible_with_a_seed(tiny_model, tiny_loops):
    a = morph(tiny_model, 0, 1, 0.5, loops=tiny_loops, n_iter=4, seed=1)
    b = morph(tiny_model, 0, 1, 0.5, loops=tiny_loops, n_iter=4, seed=1)
    np.testing.assert_array_equal(a.y, b.y)


def test_morph_by_stored_latent_and_by_file(tiny_model, tiny_loops, tiny_folder):
    import os

    by_name = morph(tiny_model, "Loop A", "Loop B", 0.5, n_iter=4)
    by_file = morph(tiny_model, os.path.join(tiny_folder, "Loop A.wav"), "Loop B", 0.5, n_iter=4)
    with_loops = morph(tiny_model, "Loop A", "Loop B", 0.5, loops=tiny_loops, n_iter=4)
    np.testing.assert_allclose(by_name.S, with_loops.S, rtol=1e-4, atol=1e-5)
    # the file is analysed afresh in float32, the LoopSet's |STFT| comes from the store as
    # float16 (2**-11 relative); through the decoder that is a few 1e-4 apart
    np.testing.assert_allclose(by_file.S, with_loops.S, rtol=2e-3, atol=1e-5)
    with pytest.raises(UnknownSoundError, match="did you mean 'Loop A'"):
        morph(tiny_model, "Loop AA", "Loop B", 0.5)


def test_bad_morph_arguments(tiny_model, tiny_loops):
    with pytest.raises(ParameterError, match="method"):
        morph(tiny_model, 0, 1, 0.5, loops=tiny_loops, method="cubic")
    with pytest.raises(ParameterError, match="n_iter"):
        morph(tiny_model, 0, 1, 0.5, loops=tiny_loops, n_iter=0)
    with pytest.raises(ParameterError, match="alpha"):
        morph(tiny_model, 0, 1, [], loops=tiny_loops)


def test_crossfade_baseline_blends_magnitudes(tiny_loops):
    m = crossfade(tiny_loops, 0, 1, 0.25, n_iter=4)
    np.testing.assert_allclose(m.S, 0.75 * tiny_loops.S[0] + 0.25 * tiny_loops.S[1], rtol=1e-6)
    assert m.method == "crossfade" and np.max(np.abs(m.y)) <= 0.99


def test_nearest_finds_the_loop_itself_first(tiny_model, tiny_loops):
    z = tiny_model.encode(tiny_loops.S[2])[0]
    for hits in (tiny_model.nearest(z, 3), tiny_model.nearest(z, 3, loops=tiny_loops)):
        assert len(hits) == 3 and hits[0][0] == tiny_loops.names[2] and hits[0][1] == pytest.approx(0, abs=1e-4)
        assert [d for _, d in hits] == sorted(d for _, d in hits)
    assert len(tiny_model.nearest(z, 100)) == len(tiny_loops)


@pytest.mark.parametrize("z, k, match", [(np.zeros(3), 1, "z must have"), (None, 0, "k must be >= 1")])
def test_nearest_names_bad_arguments(tiny_model, z, k, match):
    z = np.zeros(tiny_model.latent_dim) if z is None else z
    with pytest.raises(ParameterError, match=match):
        tiny_model.nearest(z, k)


def test_a_morphs_file_name_keeps_alpha_and_tempo_and_fits_the_file_system():
    from morphlib.morphing.morphs import Morph

    long = "オーバーキル" * 30
    y = np.zeros(10, np.float32)
    morphs = [Morph(long + " J", long + " R", a, "linear", None, y, 22050, bpm=128, bars=2) for a in (0, 0.25, 0.5, 0.75, 1)]
    names = [m.filename() for m in morphs]
    assert len(set(names)) == 5
    for m, name in zip(morphs, names):
        assert len(name.encode("utf-8")) <= 240
        assert name.endswith(f" linear a={m.alpha:.2f} 128bpm 2bars.wav")
    assert Morph("A", "B", 0.5, "linear", None, y, 22050).filename() == "A to B linear a=0.50.wav"
