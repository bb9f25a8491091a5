import numpy as np
import pytest

from morphlib.morphing.evaluation import cosine_similarity, evaluate, log_spectral_distance


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


def test_morphs_are_measured_beside_the_crossfade(tiny_model, tiny_loops):
    from morphlib.morphing.evaluation import MORPH_KEYS, evaluate_morphs, morph_pairs

    assert morph_pairs(6, 20) == [(i, j) for i in range(6) for j in range(i + 1, 6)]  # all 15
    assert len(set(morph_pairs(50, 20))) == 20 and morph_pairs(50, 20) == morph_pairs(50, 20)
    ev = evaluate_morphs(tiny_model, tiny_loops, n_pairs=3, n_iter=2)
    assert len(ev.pairs) == len(ev.vae) == len(ev.crossfade) == 3
    for kind in ("vae", "crossfade"):
        assert all(np.isfinite(ev.mean(k, kind)) for k in MORPH_KEYS) and 0 <= ev.intermediate(kind) <= 1
    d = ev.to_dict()
    assert d["n_pairs"] == 3 and set(d["vae"]) == {f"{k}_mean" for k in MORPH_KEYS} | {"intermediate_share", "seam_excess_db_max", "seam_excess_db_by_edge_max"}
    assert d["vae"]["seam_excess_db_max"] == max(p["seam_excess_db"] for p in ev.vae)
    assert "sharpness at α = .25 / .5 / .75" in ev.summary() and "crossfade" in ev.summary() and "seam" in ev.summary()


def test_steadiness_from_the_paths_already_decoded_is_the_same(tiny_model, tiny_loops):
    from morphlib.morphing.evaluation import evaluate_morphs, morph_pairs, morph_steadiness

    ev = evaluate_morphs(tiny_model, tiny_loops, n_pairs=4, n_iter=2)
    again = morph_steadiness(tiny_model, tiny_loops, morph_pairs(len(tiny_loops), 4))
    assert ev.steadiness == pytest.approx(again, rel=1e-5)


def test_evaluate_measures_morphs_unless_asked_not_to(tiny_model, tiny_loops):
    with_morphs = evaluate(tiny_model, tiny_loops, audio=False, morph_pairs=2, n_iter=2)
    assert with_morphs.morphs is not None and "morphs" in with_morphs.to_dict() and "morphs over 2 pairs" in with_morphs.summary()
    assert evaluate(tiny_model, tiny_loops, audio=False, morph_pairs=0).morphs is None
