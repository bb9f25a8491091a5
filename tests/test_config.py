import pytest

from morphlib.config import PRESETS, AnalysisSettings, default_preset, fast_mode, get_preset
from morphlib.errors import ParameterError


def test_tutorial_settings_give_the_tutorial_shape():
    s = AnalysisSettings()
    assert (s.sr, s.n_fft, s.hop_length) == (22050, 2048, 512)
    assert s.shape == (1025, 148)
    assert abs(s.duration - 3.41) < 0.01


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"sr": 0}, "sr"),
        ({"n_fft": 8}, "n_fft"),
        ({"hop_length": 4096}, "hop_length"),
        ({"n_frames": 1}, "n_frames"),
        ({"n_frames": 2.5}, "n_frames"),
        ({"sr": "22050"}, "sr"),
        ({"n_frames": True}, "n_frames"),
    ],
)
def test_bad_settings_name_the_value(kwargs, error):
    with pytest.raises(ParameterError, match=error):
        AnalysisSettings(**kwargs)


def test_for_duration_rounds_to_frames():
    assert AnalysisSettings.for_duration(3.43).n_frames == 149
    assert AnalysisSettings.for_duration(2.0, hop_length=256).n_frames == round(2.0 * 22050 / 256) + 1


def test_differences_name_each_setting():
    diffs = AnalysisSettings(sr=44100).differences(AnalysisSettings())
    assert diffs == ["sr: 44100 in the data, 22050 in the model"]


@pytest.mark.parametrize("value, fast", [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_switch(monkeypatch, value, fast):
    monkeypatch.setenv("MORPHLIB_FAST", value)
    assert fast_mode() is fast
    assert default_preset() is PRESETS["fast" if fast else "tutorial"]


def test_presets():
    t = get_preset("tutorial")
    assert (t.latent_dim, t.hidden, t.beta, t.batch_size, t.epochs) == (16, 256, 0.001, 16, 500)
    with pytest.raises(ParameterError, match="tutorail"):
        get_preset("tutorail")


@pytest.mark.parametrize("fields, match", [
    ({"weight_decay": -0.1}, "weight_decay must be >= 0, got -0.1"),
    ({"augment_gain_db": -3.0}, "augment_gain_db .* got -3.0"),
    ({"augment_shift": 1.5}, "augment_shift .* 1.5"),
    ({"augment_mix": 2.0}, "augment_mix .* 2.0"),
    ({"frequency_decoder": "wavelet"}, "frequency_decoder must be 'dense' or 'conv', got 'wavelet'"),
])
def test_bad_regularisation_names_the_value(fields, match):
    from morphlib.config import Preset

    with pytest.raises(ParameterError, match=match):
        Preset("x", **fields)
