"""The path the live player holds: offered when A and B (or the pad's corners) are chosen,
sent coarse first as binary buffers in the handlers of the page's requests, each step the
morph at its α (or the pad's blend at its grid point), dropped when the ends change, and
never more audio than a page may hold. (tests/test_browser.py plays it in a browser.)"""

import numpy as np
import pytest

pytest.importorskip("anywidget")

from morphlib.morphing.morphs import bilinear_weights  # noqa: E402
from morphlib.ui.panel import MorphPanel  # noqa: E402
from morphlib.ui.panel.path import MAX_BYTES, coarse_first, grid_points, steps_within  # noqa: E402
from morphlib.ui.panel.player import pcm16  # noqa: E402
from tests.frontend import FrontEnd  # noqa: E402


@pytest.fixture
def page():
    return FrontEnd()


@pytest.fixture
def panel(page, tiny_model, tiny_loops, tmp_path):
    panel = page.run(MorphPanel, tiny_model, tiny_loops, export_dir=tmp_path / "exports", a="Loop A", b="Loop B", n_iter=2)
    panel.sent = []
    send = panel.player.send

    def keep(content, buffers=None):
        panel.sent.append((content, [bytes(b) for b in buffers or []]))
        return send(content, buffers=buffers)

    panel.player.send = keep
    return panel


def ask(page, panel, *, key=None, restart=False):
    """The page asks for the next steps; returns the answer (content, buffers) or None."""
    before = len(panel.sent)
    page.send(panel.player, {"type": "path", "key": key or panel.player.path_key, "restart": restart})
    return panel.sent[-1] if len(panel.sent) > before else None


def whole_path(page, panel):
    """Every step of the path on offer, asked for as the page does: {index: (point, pcm bytes)}."""
    steps, order, restart = {}, [], True
    for _ in range(1000):
        content, buffers = ask(page, panel, restart=restart)
        restart = False
        for step, buf in zip(content["steps"], buffers):
            assert step["index"] not in steps, "a step was sent twice"
            steps[step["index"]] = (step["point"], buf)
            order.append(step["index"])
        if content["done"]:
            return steps, order
    raise AssertionError("the path never ended")


def test_coarse_first_orders_an_alpha_path_by_halves_and_a_grid_from_its_corners():
    assert coarse_first(np.linspace(0, 1, 33)[:, None])[:9] == [0, 32, 16, 8, 24, 4, 12, 20, 28]
    assert sorted(coarse_first(np.linspace(0, 1, 33)[:, None])) == list(range(33))
    grid = coarse_first(grid_points(5))
    assert sorted(grid[:4]) == [0, 4, 20, 24] and grid[4] == 12 and sorted(grid) == list(range(25))
    fine = grid_points(9)[coarse_first(grid_points(9))[:25]]  # the finer grid comes coarse first too
    assert {tuple(p) for p in fine * 4} == {(float(x), float(y)) for x in range(5) for y in range(5)}


def test_a_new_panel_offers_the_alpha_path_and_sends_it_coarse_first_as_the_morphs_at_each_alpha(page, panel, tiny_model):
    assert panel.player.path_kind == "ab" and panel.player.path_size == 33 and panel.player.path_key
    steps, order = whole_path(page, panel)
    assert sorted(steps) == list(range(33)) and order[:5] == [0, 32, 16, 8, 24]
    i, j = panel.loops.index("Loop A"), panel.loops.index("Loop B")
    for k in (0, 7, 16, 32):
        alpha = k / 32
        assert steps[k][0] == [pytest.approx(alpha, abs=1e-4)]
        S = tiny_model.blend(panel.z[[i, j]], [[1 - alpha, alpha]])[0]
        assert steps[k][1] == pcm16(tiny_model.to_audio(S, n_iter=2, seed=0)), f"step {k} is not the morph at α = {alpha}"
        assert len(steps[k][1]) == 2 * tiny_model.settings.n_samples
    assert ask(page, panel) == ({"type": "steps", "key": panel.player.path_key, "sr": tiny_model.settings.sr, "steps": [],
                                 "done": True}, [])


def test_each_request_renders_for_a_moment_and_a_restart_sends_the_path_again(page, panel, monkeypatch):
    monkeypatch.setattr("morphlib.ui.panel.path.CHUNK_S", 0.0)
    first, _ = ask(page, panel, restart=True)
    assert [s["index"] for s in first["steps"]] == [0]  # no time left after one step: one step
    second, _ = ask(page, panel)
    assert [s["index"] for s in second["steps"]] == [32]
    again, _ = ask(page, panel, restart=True)  # a page reloaded: it holds nothing
    assert again["steps"][0]["index"] == 0


def test_choosing_another_b_drops_the_old_path_and_a_late_request_for_it_gets_no_answer(page, panel):
    old = panel.player.path_key
    ask(page, panel, restart=True)
    page.choose(panel.b, "Loop C")
    assert panel.player.path_key != old and panel.player.path_kind == "ab"
    assert ask(page, panel, key=old) is None
    content, _ = ask(page, panel, restart=True)
    assert content["key"] == panel.player.path_key and content["steps"][0]["index"] == 0
    before = panel.player.path_key
    page.set(panel.alpha, value=0.8)  # α alone keeps the path
    assert panel.player.path_key == before


def test_the_pad_offers_a_grid_of_the_corners_blends_five_by_five_first_then_nine_by_nine(page, panel, tiny_model):
    page.choose(panel.mode, "XY pad")
    assert panel.player.path_kind == "xy" and panel.player.path_size == 9 and panel.player.path_coarse == 25
    steps, order = whole_path(page, panel)
    assert sorted(steps) == list(range(81)) and sorted(order[:4]) == [0, 8, 72, 80]
    coarse = {tuple(steps[k][0]) for k in order[:25]}
    assert coarse == {(x / 4, y / 4) for x in range(5) for y in range(5)}  # the 5 x 5 grid is in first
    corners = [panel.loops.index(n) for n in ("Loop A", "Loop B", "Loop C", "Loop D")]
    point, buf = steps[9 * 2 + 4]  # row y = 0.25, column x = 0.5
    assert point == [0.5, 0.25]
    S = tiny_model.blend(panel.z[corners], bilinear_weights(0.5, 0.25))[0]
    assert buf == pcm16(tiny_model.to_audio(S, n_iter=2, seed=0))


def test_a_path_holds_at_most_64_mb_of_audio_in_the_page():
    assert steps_within(3.4 * 22050, 33) == 33  # the tutorial's loops: 9.9 MB
    assert steps_within(60 * 48000, 33) == MAX_BYTES // (4 * 60 * 48000) == 5  # a minute at 48 kHz: 5 steps
    with pytest.raises(Exception, match="does not fit"):
        steps_within(10 * MAX_BYTES, 33)
