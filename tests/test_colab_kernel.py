"""The Colab-like kernel (``tests/colab_kernel.py``), and the morph panel in it, driven through
a real kernel with the messages a page sends.

Colab drops widget updates sent from a background thread or after the kernel went idle
(googlecolab/colabtools #3373). The first test shows that the emulation drops exactly those
(and that a plain kernel delivers them, so it is the emulation that drops); the second moves
the panel's α and asks for the full-quality morph as the page does, under the emulation and
strict mode, and requires every update to arrive within the handler that caused it.
"""

import json
import os

import pytest

from tests.frontend import KernelFrontEnd, updates_of

pytest.importorskip("ipywidgets")


def _kernel(tmp_path, *, colab, strict):
    drops = tmp_path / "drops.jsonl"
    env = {"MORPHLIB_COLAB_KERNEL": "1" if colab else "0", "MORPHLIB_STRICT_WIDGETS": "1" if strict else "0",
           "MORPHLIB_COLAB_DROPS": str(drops)}
    return KernelFrontEnd(env=env, extensions=["tests.colab_kernel"]), drops


def _dropped(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("colab", [True, False], ids=["colab-like", "plain kernel"])
def test_the_emulation_drops_what_colab_drops(tmp_path, colab):
    kernel, drops = _kernel(tmp_path, colab=colab, strict=False)
    try:
        out, _ = kernel.execute(
            "import threading, ipywidgets as w\n"
            "source, echo = w.IntSlider(), w.IntText()\n"
            "source.observe(lambda change: setattr(echo, 'value', 2 * change['new']), 'value')\n"
            "print(source.model_id, echo.model_id)")
        source, echo = out.split()
        # The page moves the slider: the observer's update is sent in that message's handler.
        assert {"value": 6} in updates_of(kernel.update(source, value=3), echo)
        # A thread sets the value after the cell has finished: Colab never shows it.
        kernel.execute("threading.Timer(0.3, lambda: setattr(echo, 'value', 99)).start()")
        late = updates_of(kernel.drain(2.0), echo)
        assert (late == []) == colab, late
        assert [d["keys"] for d in _dropped(drops)] == ([["value"]] if colab else [])
    finally:
        kernel.close()


PANEL = """
import morphlib as ml
model = ml.load_model({model!r})
loops = ml.load_folder({data!r}, model.settings, progress=False, cache=False)
panel = ml.MorphPanel(model, loops, export_dir={exports!r}, a="Loop A", b="Loop B", n_iter=4)
print(panel.alpha.model_id, panel.player.model_id, panel.image.model_id, panel.map.model_id)
"""


def test_every_alpha_move_reaches_the_page_in_a_colab_like_kernel(tmp_path, tiny_model_dir, tiny_folder):
    kernel, drops = _kernel(tmp_path, colab=True, strict=True)
    try:
        out, opened = kernel.execute(PANEL.format(model=tiny_model_dir, data=tiny_folder, exports=str(tmp_path / "exports")))
        alpha, player, image, lmap = out.split()
        assert any(m["msg_type"] == "comm_open" for m in opened)
        page = {}  # the player's state as the page holds it (only changed traits are sent)
        for value in (0.2, 0.8, 0.35):
            arrived = kernel.update(alpha, value=value)
            sound = [u for u in updates_of(arrived, player) if "audio" in u]
            assert len(sound) == 1, f"α = {value}: {updates_of(arrived, player)}"
            page.update(sound[0])
            assert page["draft"] is True  # a quick morph while the hand moves
            assert any("value" in u for u in updates_of(arrived, image)), f"α = {value}: no new picture"
            assert any("current" in u for u in updates_of(arrived, lmap)), f"α = {value}: the map did not follow"
        # The hand rests: the page asks for the full-quality morph of the draft it played.
        full = [u for u in updates_of(kernel.custom(player, {"type": "refine", "version": page["version"]}), player) if "audio" in u]
        assert len(full) == 1 and full[0]["draft"] is False and full[0]["version"] == page["version"] + 1, full
        out, _ = kernel.execute("print(panel.morph.alpha, panel.renders)")
        assert out.split()[0] == "0.35"
        assert _dropped(drops) == []
    finally:
        kernel.close()
