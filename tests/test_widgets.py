"""The morph panel's kernel side: every control redraws what it should, save never overwrites.

(tests/test_browser.py checks the same panel through a real front end.)
"""

import os

import pytest
import soundfile as sf

pytest.importorskip("ipywidgets")

from morphlib.errors import UnknownSoundError  # noqa: E402
from morphlib.widgets import MorphPanel  # noqa: E402


@pytest.fixture
def panel(tiny_model, tiny_loops, tmp_path):
    return MorphPanel(tiny_model, tiny_loops, export_dir=tmp_path / "exports", a="Loop A", b="Loop B", n_iter=2)


def _seen(panel):
    return panel.audio_src, bytes(panel.image.value)


def test_a_new_panel_shows_the_middle_morph(panel):
    audio, image = _seen(panel)
    assert audio.startswith("data:audio/wav;base64,")
    assert image.startswith(b"\x89PNG")
    assert (panel.morph.a, panel.morph.b, panel.morph.alpha, panel.morph.method) == ("Loop A", "Loop B", 0.5, "linear")
    assert panel.morph.y.shape == (panel.model.settings.n_samples,)


@pytest.mark.parametrize(
    "control, value, sound_changes, picture_changes",
    [
        ("alpha", 0.9, True, True),
        ("alpha", 0.0, True, True),
        ("method", "spherical", True, True),
        ("b", "Loop C", True, True),
        ("a", "Loop D", True, True),
        # Griffin-Lim iterations change the sound, not the spectrograms drawn.
        ("n_iter", 5, True, False),
        # Setting a control to the value it has is not a change.
        ("alpha", 0.5, False, False),
    ],
)
def test_each_control_redraws_what_it_changes(panel, control, value, sound_changes, picture_changes):
    audio, image = _seen(panel)
    getattr(panel, control).value = value
    new_audio, new_image = _seen(panel)
    assert (new_audio != audio) == sound_changes
    assert (new_image != image) == picture_changes
    if control == "alpha":
        assert panel.morph.alpha == value


def test_save_writes_the_current_morph_and_never_overwrites(panel):
    panel.alpha.value = 0.25
    first = panel.save()
    panel.save_button.click()
    second = panel.status.value.split("<code>")[1].split("</code>")[0]
    assert first != second and os.path.exists(first) and os.path.exists(second)
    assert "a=0.25" in os.path.basename(first)
    y, sr = sf.read(first)
    assert sr == panel.morph.sr and len(y) == len(panel.morph.y)
    with open(first, "rb") as f:
        before = f.read()
    panel.save()
    with open(first, "rb") as f:
        assert f.read() == before


@pytest.mark.parametrize("a, b, error", [("Loop A", "Lop Q", UnknownSoundError), (0, 99, UnknownSoundError)])
def test_unknown_sounds_are_refused_by_name(tiny_model, tiny_loops, tmp_path, a, b, error):
    with pytest.raises(error, match=str(b)):
        MorphPanel(tiny_model, tiny_loops, export_dir=tmp_path, a=a, b=b)
