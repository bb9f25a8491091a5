"""The morph panel's kernel side: every control renders what it should, the newest change
wins, save never overwrites.

(tests/test_browser.py checks the same panel through a real front end.)
"""

import os
import threading
import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("ipywidgets")

from morphlib.coalesce import LatestWins  # noqa: E402
from morphlib.errors import UnknownSoundError  # noqa: E402
from morphlib.morphing import morph_xy  # noqa: E402
from morphlib.widgets import MorphPanel  # noqa: E402


@pytest.fixture
def panel(tiny_model, tiny_loops, tmp_path):
    return MorphPanel(tiny_model, tiny_loops, export_dir=tmp_path / "exports", a="Loop A", b="Loop B", n_iter=2)


def _seen(panel):
    panel.wait(timeout=60)
    return bytes(panel.player.audio), bytes(panel.image.value)


def test_a_new_panel_shows_and_plays_the_middle_morph(panel):
    audio, image = _seen(panel)
    assert image.startswith(b"\x89PNG")
    assert len(audio) == 2 * panel.model.settings.n_samples  # 16-bit PCM of one loop
    assert type(panel.player).__name__ == "LoopPlayer" and panel.player.version == 1
    assert (panel.morph.a, panel.morph.b, panel.morph.alpha, panel.morph.method) == ("Loop A", "Loop B", 0.5, "linear")
    assert panel.morph.y.shape == (panel.model.settings.n_samples,)
    assert panel.alpha.continuous_update  # it follows a drag, not only a release
    assert panel.baseline is None and not panel.compare_out.outputs  # the crossfade only when asked


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
def test_each_control_renders_what_it_changes(panel, control, value, sound_changes, picture_changes):
    audio, image = _seen(panel)
    getattr(panel, control).value = value
    new_audio, new_image = _seen(panel)
    assert (new_audio != audio) == sound_changes
    assert (new_image != image) == picture_changes
    if control == "alpha":
        assert panel.morph.alpha == value


def test_many_quick_changes_render_the_last_one_and_few_others(panel):
    before = panel.renders
    for v in np.linspace(0.0, 1.0, 60):
        panel.alpha.value = round(float(v), 2)
    panel.wait(timeout=60)
    assert panel.morph.alpha == 1.0
    assert panel.renders - before < 30  # stale values were dropped, not queued


def test_latest_wins_drops_what_was_superseded():
    seen, gate = [], threading.Event()

    def render(state):
        gate.wait(5)
        seen.append(state)

    lw = LatestWins(render)
    lw.request(0)
    time.sleep(0.05)  # 0 is being rendered
    for k in range(1, 20):
        lw.request(k)
    gate.set()
    assert lw.wait(timeout=10)
    assert seen == [0, 19] and lw.renders == 2


def test_a_failed_render_is_shown_and_raised_by_wait(panel, monkeypatch):
    monkeypatch.setattr(panel.model, "decode", lambda z: (_ for _ in ()).throw(RuntimeError("decoder gone")))
    panel.alpha.value = 0.7
    with pytest.raises(RuntimeError, match="decoder gone"):
        panel.wait(timeout=60)
    assert "could not render this morph" in panel.status.value and "decoder gone" in panel.status.value


def test_the_xy_pad_plays_the_blend_of_four_loops(panel, tiny_model, tiny_loops):
    panel.mode.value = "xy"
    panel.set_xy(0.25, 0.75)
    panel.wait(timeout=60)
    corners = [panel.a.value, panel.b.value, panel.c.value, panel.d.value]
    assert corners == ["Loop A", "Loop B", "Loop C", "Loop D"] and panel.pad.corners == corners
    expected = morph_xy(tiny_model, corners, 0.25, 0.75, loops=tiny_loops, n_iter=2)
    np.testing.assert_allclose(panel.morph.S, expected.S, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(panel.morph.y, expected.y, rtol=1e-4, atol=1e-5)
    assert panel.morph.name == "Loop A Loop B Loop C Loop D xy x=0.25 y=0.75"
    assert set(panel.map.marks) == {"a", "b", "c", "d"} and len(panel.map.path) == 5


def test_clicking_a_loop_on_the_map_chooses_it(panel):
    assert panel.map.marks == {"A": 0, "B": 1}
    assert len(panel.map.points) == len(panel.loops) and panel.map.names == list(panel.loops.names)
    before = list(panel.map.current)
    panel.map_target.value = "B"
    panel.map._on_msg(panel.map, {"type": "pick", "index": 4}, [])  # what a click in the page sends
    panel.wait(timeout=60)
    assert panel.b.value == "Loop E" and panel.morph.b == "Loop E"
    assert panel.map.marks == {"A": 0, "B": 4} and panel.map.current != before
    panel.mode.value = "xy"
    panel.map_target.value = "c"
    panel.map.pick(5)
    panel.wait(timeout=60)
    assert panel.c.value == "Loop F" and panel.morph.corners[2] == "Loop F"


def test_compare_computes_the_crossfade_only_while_on(panel):
    panel.compare.value = True
    panel.wait(timeout=60)
    assert panel.baseline.method == "crossfade" and len(panel.compare_out.outputs) == 2
    panel.compare.value = False
    panel.wait(timeout=60)
    assert panel.baseline is None and not panel.compare_out.outputs


def test_without_the_live_player_the_plain_players_say_why(tiny_model, tiny_loops, tmp_path):
    panel = MorphPanel(tiny_model, tiny_loops, export_dir=tmp_path, n_iter=2, live=False)
    assert "live player unavailable (switched off)" in panel.player.note.value
    src = panel.player.src
    panel.alpha.value = 0.8
    panel.wait(timeout=60)
    assert panel.player.src != src and panel.player.src.startswith("data:audio/wav;base64,")


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


def test_a_loop_at_two_corners_is_pointed_out(panel):
    panel.mode.value = "xy"
    panel.d.value = "Loop A"
    panel.wait(timeout=60)
    assert "Loop A sits at two corners" in panel.status.value
    panel.d.value = "Loop F"
    panel.wait(timeout=60)
    assert panel.status.value == ""


def test_phase_can_start_from_the_last_morph(panel):
    assert panel.phase_start.value == "random"  # the tutorial's start for the tutorial-style model
    panel.alpha.value = 0.6
    random_start = (panel.wait(timeout=60), panel.morph.y.copy())[1]
    panel.phase_start.value = "previous"
    panel.alpha.value = 0.55
    panel.alpha.value = 0.6
    panel.wait(timeout=60)
    assert panel.morph.alpha == 0.6 and not np.allclose(panel.morph.y, random_start)


def test_phase_can_start_from_pghi(panel):
    panel.phase_start.value = "random"
    panel.alpha.value = 0.3
    panel.wait(timeout=60)
    random_start = panel.morph.y.copy()
    panel.phase_start.value = "pghi"
    panel.wait(timeout=60)
    first = panel.morph.y.copy()
    panel.alpha.value = 0.35
    panel.alpha.value = 0.3
    panel.wait(timeout=60)
    assert not np.allclose(first, random_start)
    np.testing.assert_array_equal(panel.morph.y, first)  # PGHI needs no seed: the same morph sounds the same


def test_the_panel_names_the_loops_closest_to_the_morph(panel):
    panel.alpha.value = 0.0
    panel.wait(timeout=60)
    assert panel.nearest[0][0] == panel.a.value and panel.nearest[0][1] == pytest.approx(0, abs=1e-4)
    assert panel.a.value in panel.neighbours.value and "closest loops" in panel.neighbours.value
    panel.alpha.value = 1.0
    panel.wait(timeout=60)
    assert panel.nearest[0][0] == panel.b.value


def test_a_big_library_gets_pickers_that_search(tiny_model, tiny_loops, tmp_path, monkeypatch):
    import ipywidgets

    import morphlib.widgets

    monkeypatch.setattr(morphlib.widgets, "SEARCH_ABOVE", 3)
    big = MorphPanel(tiny_model, tiny_loops, export_dir=tmp_path / "e", a="Loop A", b="Loop B", n_iter=2)
    assert isinstance(big.a, ipywidgets.Combobox) and big.a.ensure_option
    big.wait(timeout=60)
    renders = big.renders
    big.b.value = "Loop"  # half typed: no render, no error
    big.b.value = "Loop C"
    big.wait(timeout=60)
    assert big.morph.b == "Loop C" and big.renders == renders + 1
    big.b.value = "Loo"
    big.alpha.value = 0.4  # another control moves while the search box is half typed
    big.wait(timeout=60)
    assert big.morph.b == "Loop C" and big.morph.alpha == 0.4
