import dataclasses

import numpy as np
import pytest

from morphlib.errors import ParameterError
from morphlib.sound.hits import (FLOOR_WIDTH_DB, MAX_GAIN_DB, band_edges, band_envelopes, crossovers, floors_of, gain_edges,
                                 keep_floors, keep_hits)

N_BINS, N_FRAMES = 64, 40


def hits(frames, rows, *, level=1.0, floor=1e-3):
    """A magnitude with a short hit at each of ``frames`` in the bins ``rows`` (a slice)."""
    S = np.full((N_BINS, N_FRAMES), floor, np.float32)
    for f in frames:
        S[rows, f] = level
        S[rows, f + 1] = level / 4  # a decay
    return S


def sharpness(S, edges):
    """How far the loudest frame of each band stands above the band's median [shape=(n_bands,)]."""
    env = band_envelopes(S, edges)
    return np.max(env, axis=1) / np.median(env, axis=1)


@pytest.mark.parametrize("n_bins, n_bands", [(1025, 8), (2049, 8), (64, 8), (5, 8), (16, 1)])
def test_band_edges_cover_every_bin_once(n_bins, n_bands):
    edges = band_edges(n_bins, n_bands)
    assert edges[0] == 0 and edges[-1] == n_bins
    assert np.all(np.diff(edges) > 0)
    assert len(edges) - 1 <= n_bands


def test_band_envelopes_are_the_rms_of_each_band():
    S = np.random.default_rng(0).random((3, N_BINS, N_FRAMES)).astype(np.float32)
    edges = band_edges(N_BINS, 4)
    env = band_envelopes(S, edges)
    assert env.shape == (3, len(edges) - 1, N_FRAMES)
    lo, hi = edges[1], edges[2]
    np.testing.assert_allclose(env[1, 1], np.sqrt(np.mean(S[1, lo:hi] ** 2, axis=0)), rtol=1e-6)


def test_the_ends_come_back_unchanged():
    a, b = hits([5, 25], slice(0, 8)), hits([15, 25], slice(40, 64))
    out = keep_hits(np.stack([a, b]), np.stack([a, b]), [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(out, np.stack([a, b]), rtol=1e-5, atol=1e-9)


def test_a_washed_out_middle_gets_the_ends_hits_back():
    a, b = hits([5, 25], slice(0, N_BINS)), hits([15, 25], slice(0, N_BINS))
    wash = np.full((N_BINS, N_FRAMES), 0.05, np.float32)  # what a blurry decoder makes of the middle
    edges = band_edges(N_BINS)
    kept = keep_hits(wash[None], np.stack([a, b]), [[0.5, 0.5]])[0]
    assert np.all(sharpness(kept, edges) > 4 * sharpness(wash, edges))
    # the hit both ends have (frame 25) stands out most; a hit of one end only is softer but still a hit
    for env in band_envelopes(kept, edges):
        assert env[25] > env[5] > np.median(env) and env[25] > env[15] > np.median(env)


def test_the_level_of_each_band_follows_the_ends_blended_in_db():
    rng = np.random.default_rng(1)
    ends = rng.random((2, N_BINS, N_FRAMES)).astype(np.float32) + 0.1
    blend = rng.random((1, N_BINS, N_FRAMES)).astype(np.float32) + 0.1
    alpha = 0.3
    edges = band_edges(N_BINS)
    kept = keep_hits(blend, ends, [[1 - alpha, alpha]], floors=False)[0]  # the bands' part alone
    target = np.exp((1 - alpha) * np.log(band_envelopes(ends[0], edges)) + alpha * np.log(band_envelopes(ends[1], edges)))
    np.testing.assert_allclose(band_envelopes(kept, edges), target, rtol=1e-3)
    # the blend's own spectral shape within a band is kept: one gain per band and frame,
    # except where it slides into the next band's at an edge
    ratio = kept / blend[0]
    off_slides = np.ones(N_BINS, bool)
    off_slides[crossovers(edges)[0].astype(int)] = False
    for lo, hi in zip(edges[:-1], edges[1:]):
        flat = ratio[lo:hi][off_slides[lo:hi]]
        np.testing.assert_allclose(flat, np.broadcast_to(flat[:1], flat.shape), rtol=1e-4)


def test_band_gains_slide_into_each_other_without_a_step_at_the_edges():
    """A flat decode given bands 12 dB apart: across every edge above the lowest bands the
    gain climbs over several bins (no bin-to-bin step above a third of the jump), and
    each band still reaches its level."""
    n_bins = 1025
    flat = np.ones((1, n_bins, 4), np.float32)
    edges = band_edges(n_bins)
    levels = np.where(np.arange(len(edges) - 1) % 2, 4.0, 1.0)  # 12 dB up, down, up, ...
    ends = np.repeat(np.repeat(levels, np.diff(edges))[None, :, None], 4, axis=2).astype(np.float32)
    kept = keep_hits(flat, np.stack([ends[0], ends[0]]), [[0.5, 0.5]], floors=False)[0, :, 0]
    db = 20 * np.log10(kept)
    for e in edges[1:-1]:
        if e >= 20:
            steps = np.abs(np.diff(db[e // 2 : min(2 * e, n_bins)]))
            assert steps.max() < 12.0 / 3, f"a step of {steps.max():.1f} dB at bin {e}"
    np.testing.assert_allclose(band_envelopes(kept[:, None], edges)[:, 0], levels, rtol=1e-3)


def test_the_change_in_level_is_limited():
    ends = np.stack([hits([5], slice(0, 64), level=10.0, floor=1e-6)] * 2)
    quiet = np.full((1, N_BINS, N_FRAMES), 1e-6, np.float32)
    gain = keep_hits(quiet, ends, [[0.5, 0.5]], floors=False) / quiet
    assert gain.max() == pytest.approx(10 ** (MAX_GAIN_DB / 20), rel=1e-4)
    assert gain.min() >= 10 ** (-MAX_GAIN_DB / 20) * (1 - 1e-4)


def test_four_ends_blend_with_the_pads_weights():
    """Each corner's hit stands out by its weight: at its frame every band is the weighted
    geometric mean of that corner's hit and the other corners' floor."""
    level, floor = 0.5, 0.05  # within ±MAX_GAIN_DB of the wash, so nothing is clipped
    corners = np.stack([hits([4 * k + 2], slice(0, N_BINS), level=level, floor=floor) for k in range(4)])
    wash = np.full((1, N_BINS, N_FRAMES), 0.1, np.float32)
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    kept = keep_hits(wash, corners, weights[None])[0]
    assert kept.shape == (N_BINS, N_FRAMES) and np.all(np.isfinite(kept))
    env = band_envelopes(kept, band_edges(N_BINS))
    heights = env[:, [4 * k + 2 for k in range(4)]]  # (bands, corners)
    np.testing.assert_allclose(heights, np.broadcast_to(level ** weights * floor ** (1 - weights), heights.shape), rtol=1e-4)
    assert np.all(np.diff(heights, axis=1) < 0)  # the heavier the corner, the louder its hit
    np.testing.assert_allclose(env[:, 30], floor, rtol=1e-4)  # no corner hits there: the floor, whatever the weights


@pytest.mark.parametrize("blends, ends, weights, message", [
    ((2, N_BINS, N_FRAMES), (2, N_BINS, N_FRAMES), [[0.5, 0.5]], "weights must have shape"),
    ((1, N_BINS, N_FRAMES), (2, N_BINS, N_FRAMES), [[0.7, 0.7]], "sum to 1"),
    ((1, N_BINS, N_FRAMES), (2, N_BINS, N_FRAMES), [[1.5, -0.5]], ">= 0"),
    ((1, N_BINS, N_FRAMES), (2, N_BINS, N_FRAMES - 1), [[0.5, 0.5]], "one shape"),
    ((N_BINS, N_FRAMES), (2, N_BINS, N_FRAMES), [[0.5, 0.5]], "one shape"),
])
def test_bad_input_is_refused_naming_it(blends, ends, weights, message):
    with pytest.raises(ParameterError, match=message):
        keep_hits(np.ones(blends, np.float32), np.ones(ends, np.float32), weights)


# --- in a model: every morph goes through MorphModel.blend ---------------------------


def test_blend_without_hits_is_the_decode_of_the_blended_latents(tiny_model):
    from morphlib.model.morphmodel import interpolate

    z = np.random.default_rng(0).normal(size=(2, tiny_model.latent_dim)).astype(np.float32)
    alphas = np.array([0.0, 0.3, 1.0])
    for method in ("linear", "spherical"):
        S = tiny_model.blend(z, np.stack([1 - alphas, alphas], 1), method=method, keep_hits=False)
        expected = tiny_model.decode(np.stack([interpolate(z[0], z[1], a, method=method) for a in alphas]))
        np.testing.assert_allclose(S, expected, rtol=1e-5, atol=1e-6)


def test_blend_with_hits_keeps_the_ends_and_reshapes_the_middle(tiny_model):
    z = np.random.default_rng(2).normal(size=(2, tiny_model.latent_dim)).astype(np.float32) * 2
    weights = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    kept = tiny_model.blend(z, weights, keep_hits=True)
    plain = tiny_model.blend(z, weights, keep_hits=False)
    np.testing.assert_allclose(kept[[0, 2]], plain[[0, 2]], rtol=1e-4, atol=1e-6)
    assert not np.allclose(kept[1], plain[1])
    from morphlib.sound.hits import fine_bins_for

    expected = keep_hits(plain[1:2], plain[[0, 2]], [[0.5, 0.5]], fine_bins=fine_bins_for(tiny_model.settings))[0]
    np.testing.assert_allclose(kept[1], expected, rtol=1e-5)


@pytest.mark.parametrize("weights, method, message", [
    ([[0.5, 0.25, 0.25]], "linear", "one column per end"),
    ([[0.5, 0.5]], "cubic", "method must be one of"),
])
def test_blend_refuses_bad_arguments(tiny_model, weights, method, message):
    z = np.zeros((2, tiny_model.latent_dim), np.float32)
    with pytest.raises(ParameterError, match=message):
        tiny_model.blend(z, weights, method=method)


def test_the_preset_decides_and_a_call_overrides(tiny_model):
    from morphlib.config import get_preset
    from morphlib.model.morphmodel import MorphModel
    from morphlib.morphing.morphs import morph

    assert get_preset("studio").keep_hits and get_preset("studio44").keep_hits
    assert not get_preset("tutorial").keep_hits  # the tutorial's morph: the decode as it is
    studio_like = MorphModel(tiny_model.vae, tiny_model.settings, preset=dataclasses.replace(get_preset("tiny"), keep_hits=True))
    assert studio_like.keep_hits and not tiny_model.keep_hits
    z = np.random.default_rng(3).normal(size=(2, tiny_model.latent_dim)).astype(np.float32) * 2
    np.testing.assert_allclose(studio_like.blend(z, [[0.5, 0.5]]), tiny_model.blend(z, [[0.5, 0.5]], keep_hits=True), rtol=1e-6)
    np.testing.assert_allclose(studio_like.blend(z, [[0.5, 0.5]], keep_hits=False), tiny_model.blend(z, [[0.5, 0.5]]), rtol=1e-6)


def test_morph_and_sweep_take_keep_hits(tiny_model, tiny_loops):
    from morphlib.morphing.morphs import morph
    from morphlib.morphing.sweeps import sweep

    on = morph(tiny_model, 0, 1, 0.5, loops=tiny_loops, keep_hits=True)
    off = morph(tiny_model, 0, 1, 0.5, loops=tiny_loops, keep_hits=False)
    assert not np.allclose(on.S, off.S)
    ends_on = morph(tiny_model, 0, 1, [0.0, 1.0], loops=tiny_loops, keep_hits=True)
    ends_off = morph(tiny_model, 0, 1, [0.0, 1.0], loops=tiny_loops, keep_hits=False)
    for a, b in zip(ends_on, ends_off):
        np.testing.assert_allclose(a.S, b.S, rtol=1e-4, atol=1e-6)
    s_on = sweep(tiny_model, 0, 1, n_loops=1, n_levels=3, n_iter=1, loops=tiny_loops, keep_hits=True)
    s_off = sweep(tiny_model, 0, 1, n_loops=1, n_levels=3, n_iter=1, loops=tiny_loops, keep_hits=False)
    assert s_on.S.shape == s_off.S.shape and not np.allclose(s_on.S, s_off.S)


def test_same_model_ignores_how_it_is_heard():
    from morphlib.config import get_preset

    studio = get_preset("studio")
    assert studio.same_model(dataclasses.replace(studio, keep_hits=False))
    assert not studio.same_model(dataclasses.replace(studio, hidden=64))
    assert not studio.same_model("studio")


def test_band_edge_steps_measure_a_seam_in_the_median_frame_spectrum():
    from morphlib.sound.hits import band_edge_steps

    n_bins = 1025
    edges = band_edges(n_bins)
    smooth = np.repeat(np.geomspace(1.0, 0.01, n_bins)[:, None], 6, axis=1)  # a falling spectrum, no edge
    seam = smooth.copy()
    seam[edges[6]:] *= 2.0  # +6 dB from one edge up
    steps = band_edge_steps(np.stack([smooth, seam]))
    assert steps.shape == (2, int(np.sum((edges[1:-1] >= 4))))
    assert steps[0].max() < 0.5
    at = list(edges[1:-1][edges[1:-1] >= 4]).index(edges[6])
    assert steps[1, at] == pytest.approx(6.02 - steps[0, at], abs=0.3) and np.delete(steps[1], at).max() < 0.5


def test_the_lowest_bins_get_a_gain_each_and_the_bands_above_stay():
    edges = band_edges(1025)
    fine = gain_edges(1025, fine_bins=10)
    assert fine[:11].tolist() == list(range(11)) and fine[11:].tolist() == edges[edges > 10].tolist()
    assert gain_edges(1025).tolist() == edges.tolist() and gain_edges(8, fine_bins=20).tolist() == list(range(9))
    with pytest.raises(ParameterError, match="fine_bins"):
        gain_edges(1025, fine_bins=-1)


def test_a_kick_put_back_under_100_hz_leaves_no_step_at_the_band_edge_above_it():
    from morphlib.morphing.evaluation import seam_excess

    # The ends' kicks fall 40 dB from bin 6 to bin 12 (65-130 Hz at 22,050 Hz); the decoder's
    # middle lost them: flat, 20 dB under their peak. One gain for the band 6-12 lifts its top
    # with its bottom and steps at 140 Hz (bin 13); a gain per bin follows the ends' fall.
    k = np.arange(1025)
    db = np.where(k < 6, 0.0, np.where(k < 13, -40.0 * (k - 6) / 6, -40.0 - 0.02 * (k - 13)))
    end = np.repeat((10 ** (db / 20))[:, None], 8, axis=1).astype(np.float32)
    middle = np.full_like(end, 10 ** (-20 / 20))
    alphas = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    weights = np.stack([1 - alphas, alphas], 1)
    blends = np.stack([end, middle, middle, middle, end])
    one_gain = keep_hits(blends, np.stack([end, end]), weights, floors=False)  # the bands' part alone
    per_bin = keep_hits(blends, np.stack([end, end]), weights, fine_bins=13, floors=False)
    assert seam_excess(one_gain, alphas) > 6.0
    assert seam_excess(per_bin, alphas) < 1.0


def test_a_morphs_seam_is_measured_beyond_its_ends():
    from morphlib.morphing.evaluation import seam_excess

    n_bins, alphas = 1025, np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    edges = band_edges(n_bins)
    path = np.repeat(np.geomspace(1.0, 0.01, n_bins)[None, :, None], 5, axis=0).repeat(4, axis=2)
    assert seam_excess(path, alphas) == pytest.approx(0.0, abs=0.3)
    path[2, edges[6]:] *= 2.0  # the middle alone steps 6 dB at an edge
    assert seam_excess(path, alphas) == pytest.approx(6.0, abs=0.5)


def _steady_with_hits(db, hit_frames, n_frames=16, hit_db=20.0):
    """A spectrum of ``db`` (per bin) in every frame, ``hit_db`` louder at ``hit_frames``."""
    S = np.repeat((10 ** (np.asarray(db) / 20))[:, None], n_frames, axis=1)
    S[:, hit_frames] *= 10 ** (hit_db / 20)
    return S.astype(np.float32)


def test_a_blends_floor_is_its_ends_blended_bin_by_bin_and_its_hits_keep_their_level():
    rng = np.random.default_rng(4)
    n_bins = 257
    a = _steady_with_hits(-30 + 6 * rng.standard_normal(n_bins), [0, 8], n_frames=17)
    b = _steady_with_hits(-40 + 6 * rng.standard_normal(n_bins), [4, 12], n_frames=17)
    blend = np.stack([_steady_with_hits(-35 + 6 * rng.standard_normal(n_bins), [0, 4, 8, 12], n_frames=17, hit_db=30.0)
                      for _ in range(2)])
    weights = np.array([[0.7, 0.3], [0.25, 0.75]])
    out = keep_floors(blend, np.stack([a, b]), weights)
    np.testing.assert_array_equal(keep_floors(blend, np.stack([a, b]), weights, end_floors=floors_of(np.stack([a, b]))), out)
    want = weights @ (20 * np.log10(np.median(np.stack([a, b]), axis=-1)))
    shift = want - 20 * np.log10(np.median(blend, axis=-1))
    inside = np.abs(shift) < MAX_GAIN_DB  # the rest moves as far as the limit
    assert inside.mean() > 0.9
    np.testing.assert_allclose(20 * np.log10(np.median(out, axis=-1))[inside], want[inside], atol=1e-3)
    change = 20 * np.log10(out / blend)
    quiet = np.setdiff1d(np.arange(17), [0, 4, 8, 12])
    np.testing.assert_allclose(change[:, :, quiet][inside], np.repeat(shift[inside][:, None], len(quiet), 1), atol=1e-3)
    hits = change[:, :, [0, 4, 8, 12]]  # 30 dB over the floor: as the band gains left them, where the floor moved less than that
    assert np.all(np.abs(hits[np.abs(shift) < 30 - 1e-3]) < 1e-3)
    # each bin's values keep their order over time
    assert np.array_equal(np.argsort(out, axis=-1, kind="stable"), np.argsort(blend, axis=-1, kind="stable"))


def test_a_middle_that_steps_at_a_band_edge_where_its_ends_do_not_leaves_no_seam():
    from morphlib.morphing.evaluation import seam_excess

    n_bins, alphas = 1025, np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    edge = band_edges(n_bins)[5]
    slope = -0.03 * np.arange(n_bins)
    a, b = _steady_with_hits(slope, [2, 10]), _steady_with_hits(slope - 6, [6, 14])
    middle = _steady_with_hits(np.where(np.arange(n_bins) < edge, slope - 3, slope - 12), [2, 6, 10, 14], hit_db=10.0)
    blends = np.stack([a, middle, middle, middle, b])
    weights = np.stack([1 - alphas, alphas], 1)
    bands_only = keep_hits(blends, np.stack([a, b]), weights, floors=False)
    assert seam_excess(bands_only, alphas) > 1.0  # the slides spread the step, the measure still reads it
    assert seam_excess(keep_hits(blends, np.stack([a, b]), weights), alphas) < 0.1
    assert FLOOR_WIDTH_DB < 20  # the ends' hits, 20 dB over their floor, keep their level


def test_bins_silent_most_of_the_time_are_left_as_they_are():
    a = _steady_with_hits(np.full(64, -20.0), [3])
    blend = a[None].copy()
    blend[0, 10:20, :] = 0.0
    blend[0, 10:20, 5] = 1.0  # a hit in bins that are silent in every other frame: no gain lifts a median of 0
    out = keep_floors(blend, np.stack([a, a]), [[0.5, 0.5]])
    np.testing.assert_array_equal(out[0, 10:20], blend[0, 10:20])
    np.testing.assert_allclose(out[0, :10], a[:10], rtol=1e-5)
