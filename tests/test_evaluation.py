import numpy as np
import pytest

from morphlib.evaluation import cosine_similarity, evaluate, log_spectral_distance


@pytest.mark.parametrize(
    "a, b, expected",
    [([1, 2], [2, 4], 1.0), ([1, 0], [0, 1], 0.0), ([1, 0], [-1, 0], -1.0), ([0, 0], [0, 0], 1.0), ([0, 0], [1, 1], 0.0), ([np.nan, 1], [1, 1], None)],
)
def test_cosine_similarity_is_never_nan(a, b, expected):
    value = cosine_similarity(np.array(a, float), np.array(b, float))
    if expected is None:
        assert np.isfinite(value)
    else:
        assert value == pytest.approx(expected)


@pytest.mark.parametrize("scale, expected", [(1.0, 0.0), (10.0, 20.0), (0.1, 20.0)])
def test_log_spectral_distance_in_db(scale, expected):
    S = np.full((4, 3), 1.0)
    assert log_spectral_distance(S, S * scale) == pytest.approx(expected)


def test_log_spectral_distance_is_finite_for_silence():
    assert np.isfinite(log_spectral_distance(np.zeros((4, 3)), np.ones((4, 3))))
    assert np.isfinite(log_spectral_distance(np.ones((4, 3)), np.zeros((4, 3))))


def test_evaluate(tiny_model, tiny_loops):
    ev = evaluate(tiny_model, tiny_loops)
    assert [f["name"] for f in ev.files] == tiny_loops.names
    d = ev.to_dict(tiny_loops)
    for key in ("n_files", "n_skipped", "skipped", "n_params", "mse", "cosine_mean", "cosine_min", "files"):
        assert key in d
    assert d["n_params"] == tiny_model.n_params
    numbers = [d["mse"], d["cosine_mean"], d["cosine_min"]] + [v for f in d["files"] for v in f.values() if isinstance(v, float)]
    assert np.all(np.isfinite(numbers))
    assert -1 <= d["cosine_min"] <= d["cosine_mean"] <= 1
    R = tiny_model.reconstruct(tiny_loops.S)
    assert d["mse"] == pytest.approx(float(np.mean((tiny_loops.S - R) ** 2)), rel=1e-4)


def test_evaluate_measures_what_is_heard(tiny_model, tiny_loops):
    ev = evaluate(tiny_model, tiny_loops, audio=True, n_iter=4)
    d = ev.to_dict()
    for key in ("audio_lsd_db", "hf_db", "onset_corr", "consistency_db", "zero_bins", "gl_audio_lsd_db", "gl_onset_corr"):
        assert np.isfinite(d[f"{key}_mean"]) and all(np.isfinite(f[key]) for f in ev.files)
    assert 0 <= d["zero_bins_mean"] <= 1 and -1 <= d["onset_corr_mean"] <= 1
    # the original magnitude through the same Griffin-Lim is the ceiling of the model's output
    assert d["gl_audio_lsd_db_mean"] < d["audio_lsd_db_mean"]
    assert "what you hear" in ev.summary()
    assert not evaluate(tiny_model, tiny_loops, audio=False).audio
