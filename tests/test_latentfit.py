import numpy as np
import pytest

from morphlib.data.dataset import LoopSet
from morphlib.errors import ParameterError
from morphlib.model.latentfit import fit_latents, latent_gradient

from .conftest import TINY, tone_burst


def _unheard(model, n=3):
    """Magnitudes of loops unlike the model's: tone bursts at other pitches and decays."""
    from morphlib.sound.spectral import magnitude

    y = [tone_burst(TINY.n_samples, TINY.sr, freq=900 + 300 * k, decay=0.005 + 0.004 * k, seed=50 + k) for k in range(n)]
    return np.stack([magnitude(v, TINY)[:, : TINY.n_frames] for v in y]).astype(np.float32)


def _loss(model, S, z):
    return np.asarray(latent_gradient(model.vae)(np.asarray(z, np.float32), S)[0])


@pytest.mark.parametrize("learning_rate, lowers", [(0.05, True), (50.0, False)])  # 50: steps that overshoot, not kept
def test_fitting_lowers_the_loss_and_never_raises_a_loops(tiny_model, learning_rate, lowers):
    S = _unheard(tiny_model)
    z0 = tiny_model.encode(S)
    z = fit_latents(tiny_model.vae, S, z0, steps=30, learning_rate=learning_rate)
    before, after = _loss(tiny_model, S, z0), _loss(tiny_model, S, z)
    assert np.all(after <= before)
    assert (np.mean(after) < np.mean(before)) == lowers and (not np.allclose(z, z0)) == lowers


def test_no_steps_is_the_encoders_mean(tiny_model):
    S = _unheard(tiny_model, 2)
    np.testing.assert_array_equal(tiny_model.encode(S, fit=0), tiny_model.encode(S))
    np.testing.assert_array_equal(fit_latents(tiny_model.vae, S, tiny_model.encode(S), steps=0), tiny_model.encode(S))


def test_latents_of_fits_only_the_loops_the_model_has_not_heard(tiny_model, tiny_loops):
    S_new = _unheard(tiny_model, 2)
    S = np.concatenate([np.asarray(tiny_loops.S[:2]), S_new])
    both = LoopSet(S, np.zeros((4, TINY.n_samples), np.float32), [*tiny_loops.names[:2], "New 1", "New 2"], [], [], TINY)
    z = tiny_model.latents_of(both, fit=20)
    np.testing.assert_array_equal(z[:2], tiny_model.encode(tiny_loops.S[:2]))  # heard: the encoder's means
    np.testing.assert_allclose(z[2:], tiny_model.encode(S_new, fit=20), rtol=1e-5, atol=1e-6)
    assert not np.allclose(z[2:], tiny_model.encode(S_new))


@pytest.mark.parametrize("kwargs, match", [({"steps": -1}, "steps must be >= 0"), ({"steps": 2.5}, "steps must be a whole number"),
                                           ({"learning_rate": 0}, "learning_rate must be a number"), ({"learning_rate": "fast"}, "learning_rate")])
def test_bad_fit_settings_name_the_value(tiny_model, kwargs, match):
    S = _unheard(tiny_model, 1)
    with pytest.raises(ParameterError, match=match):
        fit_latents(tiny_model.vae, S, tiny_model.encode(S), **kwargs)


@pytest.mark.parametrize("kwargs, match", [({"fit": -3}, "fit must be >= 0, got -3"),
                                           ({"fit": 5, "sample": True}, "fit=5 moves the posterior means")])
def test_encode_refuses_a_bad_fit(tiny_model, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        tiny_model.encode(_unheard(tiny_model, 1), **kwargs)


def test_latents_for_fits_from_the_means_and_checks_the_names(tiny_model, tiny_loops):
    S = np.concatenate([np.asarray(tiny_loops.S[:1]), _unheard(tiny_model, 2)])
    names = [tiny_loops.names[0], "New 1", "New 2"]
    np.testing.assert_allclose(tiny_model.latents_for(S, names, fit=7, batch_size=1)[1:], tiny_model.encode(S[1:], fit=7),
                               rtol=1e-5, atol=1e-6)  # fitted in batches of one: the same as all at once
    np.testing.assert_array_equal(tiny_model.latents_for(S, names, fit=0), tiny_model.encode(S))
    with pytest.raises(ParameterError, match="names must name each of the 3 loops, got 2"):
        tiny_model.latents_for(S, names[:2])


def test_an_audio_file_the_model_has_not_heard_is_fitted(tiny_model, tmp_path):
    import soundfile as sf

    from morphlib.data.dataset import analyse_file
    from morphlib.model.latentfit import FIT_STEPS
    from morphlib.morphing.morphs import resolve_sound

    path = tmp_path / "Something New.wav"
    sf.write(path, tone_burst(TINY.n_samples, TINY.sr, freq=1500, decay=0.01, seed=9), TINY.sr)
    name, z, image = resolve_sound(tiny_model, str(path))
    S = analyse_file(str(path), tiny_model.settings)[1]
    assert name == "Something New" and not tiny_model.has_heard("Something New") and tiny_model.has_heard("Loop A")
    np.testing.assert_allclose(z, tiny_model.encode(S, fit=FIT_STEPS)[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(z, tiny_model.encode(S)[0])


def test_evaluate_reconstructs_loops_the_model_has_not_heard_from_fitted_latents(tiny_model, tiny_loops):
    from morphlib.morphing.evaluation import evaluate
    from morphlib.model.latentfit import FIT_STEPS

    S_new = _unheard(tiny_model, 1)
    both = LoopSet(np.concatenate([np.asarray(tiny_loops.S[:2]), S_new]), np.zeros((3, TINY.n_samples), np.float32),
                   [*tiny_loops.names[:2], "New 1"], list(tiny_loops.infos[:3]), [], TINY)
    ev = evaluate(tiny_model, both, audio=False, morph_pairs=0)
    assert [f["fitted"] for f in ev.files] == [False, False, True] and ev.n_fitted == 1
    assert "1 of the 3 loops are not among the model's own" in ev.summary() and ev.to_dict()["n_fitted"] == 1
    fitted = tiny_model.decode(tiny_model.encode(S_new, fit=FIT_STEPS))[0]
    np.testing.assert_allclose(ev.files[2]["mse"], float(np.mean((S_new[0].astype(np.float64) - fitted) ** 2)), rtol=1e-4)


def test_a_loop_is_fitted_once_per_model(tiny_model, monkeypatch):
    import morphlib.model.morphmodel as morphmodel

    calls = []
    real = morphmodel.fit_latents
    monkeypatch.setattr(morphmodel, "fit_latents", lambda vae, S, z0, **kw: calls.append(len(S)) or real(vae, S, z0, **kw))
    S = _unheard(tiny_model, 3) * 1.01  # content no other test has fitted
    first = tiny_model.encode(S[:2], fit=11)
    again = tiny_model.encode(S, fit=11)  # two of the three are known
    np.testing.assert_array_equal(again[:2], first)
    assert calls == [2, 1]
    tiny_model.encode(S, fit=12)  # other steps: another fit
    assert calls == [2, 1, 3]
