"""The morph panel's kernel side: every control renders what it should, in the handler of the
message that moved it; a draft while the hand moves, full quality when the page asks; save
never overwrites.

Strict widget delivery is on for the whole suite (``MORPHLIB_STRICT_WIDGETS=1``, see the
root conftest): every change below comes from ``FrontEnd`` as a message from the page, and
any widget message the panel sent outside such a handler would raise.
(tests/test_browser.py checks the same panel through a real front end, also one that
behaves like Colab's.)
"""

import os

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("ipywidgets")

from morphlib.errors import UnknownSoundError, WidgetDeliveryError  # noqa: E402
from morphlib.morphing.morphs import morph_xy  # noqa: E402
from morphlib.ui.panel import MorphPanel  # noqa: E402
from tests.frontend import FrontEnd  # noqa: E402

CHOICES = ("a", "b", "c", "d", "method", "mode", "phase_start", "map_target")


@pytest.fixture
def page():
    return FrontEnd()


@pytest.fixture
def panel(page, tiny_model, tiny_loops, tmp_path):
    return page.run(MorphPanel, tiny_model, tiny_loops, export_dir=tmp_path / "exports", a="Loop A", b="Loop B", n_iter=2)


def move(page, panel, control, value):
    """What the page sends when the user sets ``control`` to ``value``."""
    widget = getattr(panel, control)
    if control in CHOICES and not hasattr(widget, "ensure_option"):
        page.choose(widget, dict((v, k) for k, v in _pairs(widget.options)).get(value, value))
    else:
        page.set(widget, value=value)


def _pairs(options):
    return [o if isinstance(o, (tuple, list)) else (o, o) for o in options]


def _seen(page, panel):
    page.run(panel.wait)
    return bytes(panel.player.audio), bytes(panel.image.value)


def test_a_new_panel_shows_and_plays_the_middle_morph(page, panel):
    audio, image = _seen(page, panel)
    assert image.startswith(b"\xff\xd8\xff") and panel.image.format == "jpeg"  # a JPEG: a fraction of a PNG's time
    assert len(audio) == 2 * panel.model.settings.n_samples  # 16-bit PCM of one loop
    assert type(panel.player).__name__ == "LoopPlayer" and panel.player.version == 1 and not panel.player.draft
    assert (panel.morph.a, panel.morph.b, panel.morph.alpha, panel.morph.method) == ("Loop A", "Loop B", 0.5, "linear")
    assert panel.morph.y.shape == (panel.model.settings.n_samples,)
    # α's slider and the pad find the live player in the page by a channel of their own
    assert panel.alpha.channel == panel.pad.channel == panel.player.channel and len(panel.player.channel) == 32
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
        # The ends' hits given to the middle (the tiny preset does not keep them: on is a change).
        ("keep_hits", True, True, True),
        # Setting a control to the value it has is not a change.
        ("alpha", 0.5, False, False),
    ],
)
def test_each_control_renders_what_it_changes(page, panel, control, value, sound_changes, picture_changes):
    audio, image = _seen(page, panel)
    move(page, panel, control, value)
    new_audio, new_image = _seen(page, panel)
    assert (new_audio != audio) == sound_changes
    assert (new_image != image) == picture_changes
    if control == "alpha":
        assert panel.morph.alpha == value


def test_a_move_sends_a_draft_and_the_page_asks_for_full_quality(page, panel, tiny_model):
    renders = panel.renders
    move(page, panel, "alpha", 0.8)
    draft = panel.morph
    assert panel.player.draft and panel.renders == renders + 1 and draft.alpha == 0.8
    version = panel.player.version
    page.send(panel.player, {"type": "refine", "version": version - 1})  # a request for an older morph
    assert panel.player.draft and panel.player.version == version
    page.send(panel.player, {"type": "refine", "version": version})
    assert not panel.player.draft and panel.player.version == version + 1
    full = tiny_model.to_audio(panel.morph.S, n_iter=2, seed=0)  # the chosen start and iterations
    np.testing.assert_allclose(panel.morph.y, full, rtol=1e-4, atol=1e-5)
    assert panel.renders == renders + 1  # refining is not a new render
    np.testing.assert_array_equal(panel.morph.S, draft.S)


def test_a_message_sent_outside_a_handler_raises_in_strict_mode(page, panel):
    with pytest.raises(WidgetDeliveryError, match="AlphaSlider sent update of value from the thread .MainThread. while it handled no front-end message"):
        panel.alpha.value = 0.3  # from a script, not from the page: Colab would not show it


def test_a_failed_render_is_shown_and_the_next_move_renders_again(page, panel, monkeypatch):
    decode = panel.model.decode
    monkeypatch.setattr(panel.model, "decode", lambda z: (_ for _ in ()).throw(RuntimeError("decoder gone")))
    move(page, panel, "alpha", 0.7)
    assert "could not render this morph" in panel.status.value and "decoder gone" in panel.status.value
    with pytest.raises(RuntimeError, match="decoder gone"):
        page.run(panel.wait)
    monkeypatch.setattr(panel.model, "decode", decode)
    move(page, panel, "alpha", 0.6)
    assert page.run(panel.wait) and panel.morph.alpha == 0.6 and panel.status.value == ""


def test_the_xy_pad_plays_the_blend_of_four_loops(page, panel, tiny_model, tiny_loops):
    move(page, panel, "mode", "xy")
    page.set(panel.pad, x=0.25, y=0.75)
    page.run(panel.wait)
    corners = [panel.a.value, panel.b.value, panel.c.value, panel.d.value]
    assert corners == ["Loop A", "Loop B", "Loop C", "Loop D"] and panel.pad.corners == corners
    expected = morph_xy(tiny_model, corners, 0.25, 0.75, loops=tiny_loops, n_iter=2)
    np.testing.assert_allclose(panel.morph.S, expected.S, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(panel.morph.y, expected.y, rtol=1e-4, atol=1e-5)
    assert panel.morph.name == "Loop A Loop B Loop C Loop D xy x=0.25 y=0.75"
    assert set(panel.map.marks) == {"a", "b", "c", "d"} and len(panel.map.path) == 5


def test_clicking_a_loop_on_the_map_chooses_it(page, panel):
    assert panel.map.marks == {"A": 0, "B": 1}
    assert len(panel.map.points) == len(panel.loops) and panel.map.names == list(panel.loops.names)
    before = list(panel.map.current)
    move(page, panel, "map_target", "B")
    page.send(panel.map, {"type": "pick", "index": 4})  # what a click in the page sends
    page.run(panel.wait)
    assert panel.b.value == "Loop E" and panel.morph.b == "Loop E"
    assert panel.map.marks == {"A": 0, "B": 4} and panel.map.current != before
    move(page, panel, "mode", "xy")
    move(page, panel, "map_target", "c")
    page.send(panel.map, {"type": "pick", "index": 5})
    page.run(panel.wait)
    assert panel.c.value == "Loop F" and panel.morph.corners[2] == "Loop F"


def test_compare_computes_the_crossfade_only_while_on(page, panel):
    move(page, panel, "compare", True)
    page.run(panel.wait)
    assert panel.baseline.method == "crossfade" and len(panel.compare_out.outputs) == 2
    move(page, panel, "compare", False)
    page.run(panel.wait)
    assert panel.baseline is None and not panel.compare_out.outputs


def test_without_the_live_player_the_plain_players_say_why(page, tiny_model, tiny_loops, tmp_path):
    panel = page.run(MorphPanel, tiny_model, tiny_loops, export_dir=tmp_path, n_iter=2, live=False)
    assert "live player unavailable (switched off)" in panel.player.note.value
    src = panel.player.src
    move(page, panel, "alpha", 0.8)
    # nothing in the page would ask for full quality: plain players get it at once
    assert panel.player.src != src and panel.player.src.startswith("data:audio/wav;base64,") and panel._shown is None


def test_save_writes_the_current_morph_and_never_overwrites(page, panel):
    move(page, panel, "alpha", 0.25)
    first = page.run(panel.save)
    assert not panel.player.draft  # what is written is the full-quality morph
    page.click(panel.save_button)
    second = panel.status.value.split("<code>")[1].split("</code>")[0]
    assert first != second and os.path.exists(first) and os.path.exists(second)
    assert "a=0.25" in os.path.basename(first)
    y, sr = sf.read(first)
    assert sr == panel.morph.sr and len(y) == len(panel.morph.y)
    with open(first, "rb") as f:
        before = f.read()
    page.run(panel.save)
    with open(first, "rb") as f:
        assert f.read() == before


@pytest.mark.parametrize("mode, shown, name", [
    ("ab", {"alpha": 0.3}, "a=0.30"),        # the page showed 0.30; its message with it had not arrived
    ("ab", {"alpha": 7}, "a=1.00"),          # clipped to the slider's range
    ("ab", {"alpha": float("nan")}, "a=0.25"),  # not a number: the kernel's α
    ("ab", {"alpha": "0.3"}, "a=0.25"),
    ("ab", {}, "a=0.25"),                    # a click from a page that shows nothing (ipywidgets' button)
    ("xy", {"xy": [0.2, 0.9]}, "xy x=0.20 y=0.90"),
    ("xy", {"xy": [0.2]}, "xy x=0.50 y=0.50"),
])
def test_a_click_on_save_saves_what_the_page_shows(page, panel, mode, shown, name):
    # A click goes to the kernel at once, while the page holds α's newer value back until the
    # kernel has handled the last one: a click just after a key press carries what the page shows.
    move(page, panel, "alpha", 0.25)
    if mode == "xy":
        move(page, panel, "mode", "xy")
    page.send(panel.save_button, {"event": "click", **shown})
    saved = panel.status.value.split("<code>")[1].split("</code>")[0]
    assert name in os.path.basename(saved), (saved, shown)
    assert panel.morph.filename() == os.path.basename(saved)


@pytest.mark.parametrize("a, b, error", [("Loop A", "Lop Q", UnknownSoundError), (0, 99, UnknownSoundError)])
def test_unknown_sounds_are_refused_by_name(page, tiny_model, tiny_loops, tmp_path, a, b, error):
    with pytest.raises(error, match=str(b)):
        page.run(MorphPanel, tiny_model, tiny_loops, export_dir=tmp_path, a=a, b=b)


def test_a_loop_at_two_corners_is_pointed_out(page, panel):
    move(page, panel, "mode", "xy")
    move(page, panel, "d", "Loop A")
    assert "Loop A sits at two corners" in panel.status.value
    move(page, panel, "d", "Loop F")
    assert panel.status.value == ""


def test_phase_can_start_from_the_last_morph(page, panel):
    assert panel.phase_start.value == "random"  # the tutorial's start for the tutorial-style model
    move(page, panel, "alpha", 0.6)
    random_start = (page.run(panel.wait), panel.morph.y.copy())[1]
    move(page, panel, "phase_start", "previous")
    move(page, panel, "alpha", 0.55)
    move(page, panel, "alpha", 0.6)
    page.run(panel.wait)
    assert panel.morph.alpha == 0.6 and not np.allclose(panel.morph.y, random_start)


def test_phase_can_start_from_pghi(page, panel):
    move(page, panel, "alpha", 0.3)
    page.run(panel.wait)
    random_start = panel.morph.y.copy()
    move(page, panel, "phase_start", "pghi")
    page.run(panel.wait)
    first = panel.morph.y.copy()
    move(page, panel, "alpha", 0.35)
    move(page, panel, "alpha", 0.3)
    page.run(panel.wait)
    assert not np.allclose(first, random_start)
    np.testing.assert_array_equal(panel.morph.y, first)  # PGHI needs no seed: the same morph sounds the same


def test_the_panel_names_the_loops_closest_to_the_morph(page, panel):
    move(page, panel, "alpha", 0.0)
    assert panel.nearest[0][0] == panel.a.value and panel.nearest[0][1] == pytest.approx(0, abs=1e-4)
    assert panel.a.value in panel.neighbours.value and "closest loops" in panel.neighbours.value
    move(page, panel, "alpha", 1.0)
    assert panel.nearest[0][0] == panel.b.value


def test_a_big_library_gets_pickers_that_search(page, tiny_model, tiny_loops, tmp_path, monkeypatch):
    import ipywidgets

    import morphlib.ui.panel.morphpanel

    monkeypatch.setattr(morphlib.ui.panel.morphpanel, "SEARCH_ABOVE", 3)
    big = page.run(MorphPanel, tiny_model, tiny_loops, export_dir=tmp_path / "e", a="Loop A", b="Loop B", n_iter=2)
    assert isinstance(big.a, ipywidgets.Combobox) and big.a.ensure_option
    renders = big.renders
    move(page, big, "b", "Loop")  # half typed: no render, no error
    move(page, big, "b", "Loop C")
    assert big.morph.b == "Loop C" and big.renders == renders + 1
    move(page, big, "b", "Loo")
    move(page, big, "alpha", 0.4)  # another control moves while the search box is half typed
    assert big.morph.b == "Loop C" and big.morph.alpha == 0.4


@pytest.mark.parametrize("bpm, ok", [(128.0, True), (10.0, False)])
def test_save_at_the_projects_tempo(page, panel, bpm, ok):
    move(page, panel, "save_bpm", bpm)
    try:
        page.click(panel.save_button)
    finally:
        move(page, panel, "save_bpm", 0.0)
    if not ok:
        assert "bpm must be a tempo between 20 and 400" in panel.status.value
        return
    path = panel.status.value.split("<code>")[1].split("</code>")[0]
    assert "128bpm" in os.path.basename(path) and "bar" in os.path.basename(path)
    bars = int(os.path.basename(path).split("128bpm ")[1].split("bar")[0])
    y, sr = sf.read(path)
    assert len(y) == round(bars * 240 / 128 * sr)


MARKUP = "<img src=x onerror=alert(1)>"


@pytest.fixture
def markup_loops(tiny_folder, tmp_path):
    """The tiny loops, two of them named with markup, as a loop pack from the internet might be."""
    import shutil

    from morphlib.data.dataset import load_folder
    from tests.conftest import TINY

    folder = tmp_path / "hostile"
    shutil.copytree(tiny_folder, folder)
    os.replace(folder / "Loop A.wav", folder / f"{MARKUP}.wav")
    os.replace(folder / "Loop B.wav", folder / "Loop <b>B</b> & co.wav".replace("/", "_"))
    return load_folder(str(folder), TINY, progress=False, cache=False)


def test_loop_names_are_escaped_wherever_they_reach_html(page, tiny_model, markup_loops, tmp_path, monkeypatch):
    import errno

    import morphlib.ui.panel.morphpanel as morphpanel

    panel = page.run(MorphPanel, tiny_model, markup_loops, export_dir=tmp_path / "exports", a=MARKUP, b=1, n_iter=2)
    page.run(panel.wait)
    move(page, panel, "mode", "xy")
    move(page, panel, "a", MARKUP)
    move(page, panel, "d", MARKUP)
    page.run(panel.wait)
    shown = panel.status.value + panel.neighbours.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel.status.value and "<img" not in shown and "<b>B" not in shown

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", f"{MARKUP}.wav")

    monkeypatch.setattr(morphpanel, "write_wav", full_disk)
    page.click(panel.save_button)
    assert "could not save this morph: OSError" in panel.status.value and "No space left" in panel.status.value
    assert "<img" not in panel.status.value


def test_save_html_writes_the_path_between_the_panels_a_and_b(page, panel):
    import json
    import re

    path = page.run(panel.save_html, steps=3)
    assert os.path.basename(path) == "Loop A to Loop B path.html" and os.path.dirname(path) == str(panel.export_dir)
    with open(path, encoding="utf-8") as f:
        data = json.loads(re.search(r'id="morphlib-path">(.*?)</script>', f.read(), re.S).group(1))
    assert (data["a"], data["b"], len(data["steps"])) == ("Loop A", "Loop B", 3)
    assert page.run(panel.save_html, steps=3) != path  # a new name: nothing is overwritten
