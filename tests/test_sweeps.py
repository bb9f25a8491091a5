import numpy as np
import pytest

from morphlib.errors import ParameterError, UnknownSoundError
from morphlib.morphing.morphs import morph_xy
from morphlib.sound.spectral import magnitude
from morphlib.morphing.sweeps import frame_times, parse_curve, parse_path, sweep, sweep_xy

from .conftest import TINY

PER_LOOP = TINY.n_frames - 1


@pytest.mark.parametrize(
    "curve, n_loops, expected",
    [
        ("ramp", 4, [(0, 0), (4, 1)]),
        ("Ramp-Down", 2, [(0, 1), (2, 0)]),
        ("triangle", 2, [(0, 0), (1, 1), (2, 0)]),
        ("lfo:1", 2, [(0, 0), (0.5, 1), (1, 0), (1.5, 1), (2, 0)]),
        ("0:0, 2:1,4:0", 4, [(0, 0), (2, 1), (4, 0)]),
        ([(0, 0.25)], 3, [(0, 0.25)]),
        ("lfo:0", 2, "period must be a number of loops > 0"),
        ("wobble", 2, "does not parse at 'wobble'"),
        ("0:0,1:1.5", 2, "alpha must be between 0 and 1, got 1.5"),
        ("2:0,1:1", 2, "in order of loop position"),
        ("-1:0", 2, "loop positions must be >= 0"),
    ],
)
def test_parse_curve(curve, n_loops, expected):
    if isinstance(expected, str):
        with pytest.raises(ParameterError, match=expected):
            parse_curve(curve, n_loops)
    else:
        assert parse_curve(curve, n_loops) == [(float(a), float(b)) for a, b in expected]


@pytest.mark.parametrize(
    "path, expected",
    [("0:0/0,2:1/0.5", [(0, 0, 0), (2, 1, 0.5)]), ("0:0/0,1:2/0", "x must be between 0 and 1, got 2"),
     ("0:0,1:1/1", "does not parse at '0:0'"), ("0:a/b", "does not parse at '0:a/b'")],
)
def test_parse_path(path, expected):
    if isinstance(expected, str):
        with pytest.raises(ParameterError, match=expected):
            parse_path(path)
    else:
        assert parse_path(path) == [tuple(map(float, p)) for p in expected]


def test_frame_times_wrap_at_the_loop_length():
    t = frame_times(TINY, 2)
    assert len(t) == 2 * PER_LOOP + 1 and t[0] == 0 and t[PER_LOOP] == 1 and t[-1] == 2


def test_a_ramp_runs_from_a_to_b_frame_by_frame(tiny_model, tiny_loops):
    m = sweep(tiny_model, "Loop A", "Loop B", n_loops=2, loops=tiny_loops, n_iter=4)
    assert m.S.shape == (TINY.n_bins, 2 * PER_LOOP + 1)
    assert m.y.shape == (2 * TINY.n_samples,) and np.max(np.abs(m.y)) <= 0.99
    assert m.path[0] == 0 and m.path[-1] == 1 and np.all(np.diff(m.path) > 0)  # glides, no staircase
    R = tiny_model.reconstruct(tiny_loops.S[[0, 1]])
    np.testing.assert_allclose(m.S[:, 0], R[0][:, 0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m.S[:, -1], R[1][:, 0], rtol=1e-4, atol=1e-6)
    assert m.name == "Loop A to Loop B sweep ramp"


def test_breakpoints_reach_b_in_the_middle(tiny_model, tiny_loops):
    m = sweep(tiny_model, 0, 1, curve="0:0,1:1,2:0", n_loops=2, loops=tiny_loops, n_iter=2)
    R = tiny_model.reconstruct(tiny_loops.S[[0, 1]])
    assert m.path[PER_LOOP] == 1
    np.testing.assert_allclose(m.S[:, PER_LOOP], R[1][:, 0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m.S[:, -1], R[0][:, 0], rtol=1e-4, atol=1e-6)


def _consistency_near(y, S, frames):
    """How far |STFT(y)| is from S around the given frames (0: consistent)."""
    import dataclasses

    settings = dataclasses.replace(TINY, n_frames=S.shape[1])
    M = magnitude(y, settings)[:, : S.shape[1]]
    idx = np.concatenate([np.arange(f - 3, f + 4) for f in frames])
    return np.linalg.norm(M[:, idx] - S[:, idx]) / np.linalg.norm(S[:, idx])


def test_the_phase_runs_on_across_the_seams(tiny_model, tiny_loops):
    """A held α over three loops is one continuous piece: around the seams its sound matches
    the spectrogram better than three separately resynthesised loops joined end to end."""
    n_iter = 32
    m = sweep(tiny_model, 0, 1, curve="0:0.5", n_loops=3, loops=tiny_loops, n_iter=n_iter)
    one = tiny_model.to_audio(m.S[:, : TINY.n_frames], n_iter=n_iter)
    joined = np.concatenate([tiny_model.to_audio(m.S[:, : TINY.n_frames], n_iter=n_iter, seed=k) for k in range(3)])
    seams = [PER_LOOP, 2 * PER_LOOP]
    assert _consistency_near(m.y, m.S, seams) < _consistency_near(joined, m.S, seams)
    assert one.shape == (TINY.n_samples,)


def test_xy_corners_are_the_loops_and_the_centre_blends_all_four(tiny_model, tiny_loops):
    corners = ["Loop A", "Loop B", "Loop C", "Loop D"]
    R = tiny_model.reconstruct(tiny_loops.S[:4])
    for k, (x, y) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        m = morph_xy(tiny_model, corners, x, y, loops=tiny_loops, n_iter=2)
        np.testing.assert_allclose(m.S, R[k], rtol=1e-4, atol=1e-6)
    centre = morph_xy(tiny_model, corners, 0.5, 0.5, loops=tiny_loops, n_iter=2)
    z = tiny_model.encode(tiny_loops.S[:4]).mean(axis=0)
    np.testing.assert_allclose(centre.S, tiny_model.decode(z)[0], rtol=1e-4, atol=1e-6)
    assert centre.name == "Loop A Loop B Loop C Loop D xy x=0.50 y=0.50"


@pytest.mark.parametrize(
    "corners, x, y, error, match",
    [
        (["Loop A", "Loop B", "Loop A", "Loop D"], 0.5, 0.5, ParameterError, "'Loop A' is given twice"),
        (["Loop A", "Loop B", "Loop C"], 0.5, 0.5, ParameterError, "four sounds"),
        (["Loop A", "Loop B", "Loop C", "Loop Q"], 0.5, 0.5, UnknownSoundError, "Loop Q"),
        (["Loop A", "Loop B", "Loop C", "Loop D"], 1.2, 0.5, ParameterError, "x must be between 0 and 1, got 1.2"),
        (["Loop A", "Loop B", "Loop C", "Loop D"], 0.5, -0.1, ParameterError, "y must be between 0 and 1, got -0.1"),
    ],
)
def test_xy_bad_input(tiny_model, tiny_loops, corners, x, y, error, match):
    with pytest.raises(error, match=match):
        morph_xy(tiny_model, corners, x, y, loops=tiny_loops)


def test_a_path_over_the_pad(tiny_model, tiny_loops):
    corners = [0, 1, 2, 3]
    m = sweep_xy(tiny_model, corners, "0:0/0,1:1/1", loops=tiny_loops, n_iter=2)
    R = tiny_model.reconstruct(tiny_loops.S[[0, 3]])
    assert m.S.shape == (TINY.n_bins, PER_LOOP + 1) and m.path.shape == (PER_LOOP + 1, 2)
    np.testing.assert_allclose(m.S[:, 0], R[0][:, 0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m.S[:, -1], R[1][:, 0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_loops": 10**5}, "n_loops=100000 would need about"), ({"n_loops": 0}, "n_loops must be between 1"),
     ({"method": "cubic"}, "method must be one of"), ({"curve": "0:2"}, "alpha must be between 0 and 1, got 2")],
)
def test_sweep_bad_input(tiny_model, tiny_loops, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        sweep(tiny_model, 0, 1, loops=tiny_loops, **kwargs)
