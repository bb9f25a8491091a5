"""The live loop player: the morph keeps looping while it changes under the user's hand.

Built on anywidget: the front-end code (``static/player.js``, Web Audio) ships in the
package and runs in JupyterLab 4, the classic Notebook and Colab (after
``google.colab.output.enable_custom_widget_manager()``, which the notebooks' setup cell
calls). Where anywidget is missing, :func:`make_player` returns today's inline players
instead, with a message saying why.

While a control moves, the panel sends quick *draft* morphs; once one has played for
``rest_ms`` with nothing newer (the hand rests), the page asks for the full-quality morph
with a ``{"type": "refine", "version": N}`` message, whose handler renders and sends it.
So the full-quality render, too, is sent while the kernel handles a message from the page.

The player also holds a *path* (``path``): when the panel offers one (``offer_path``), the
page asks for its steps with ``{"type": "path", "key": K}`` messages and each answer
(``send_steps``) carries the next few as binary buffers. The panel's α slider and XY pad
find the player through ``channel``: while the hand drags, they hand it each move and the
player plays the nearest step it holds, sending nothing to the kernel; they send the value
where the hand stops, and the exact morph follows as before.
"""

import functools
import base64
import io

import numpy as np

from ...sound.audio import prevent_clipping
from ..panel import STATIC
from ..plots import play


def pcm16(y):
    """A waveform as little-endian 16-bit PCM bytes (what the player is sent).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (2, n)]
        Samples, mono or left and right (sent interleaved, as in a WAV file); scaled down
        first if they would clip.
    """
    y = np.asarray(y, np.float32)
    y = prevent_clipping(y.T.ravel() if y.ndim == 2 else np.ravel(y))
    return (np.round(y * 32767).astype("<i2")).tobytes()


def n_channels(y):
    """1 for a mono waveform [shape=(n,)], 2 for a stereo one [shape=(2, n)]."""
    return 2 if np.ndim(y) == 2 else 1


@functools.lru_cache(maxsize=None)
def player_class():
    """The ``LoopPlayer`` widget class (anywidget imported here, not with morphlib)."""
    import anywidget
    import traitlets as t

    class LoopPlayer(anywidget.AnyWidget):
        """Loops one morph with the Web Audio API; a new ``audio`` takes over within ``fade_ms``.

        Traits set by Python: ``audio`` (16-bit PCM bytes, see ``pcm16``), ``sr``, ``n_channels``,
        ``version``, ``label``, ``draft`` (a quick morph that a full-quality one will follow),
        ``rest_ms``, ``fade_ms`` (crossfade, at most 30), ``playing`` and ``volume`` (the
        play/stop button and volume slider change them too). Reported back by the page:
        ``context_state`` (the AudioContext's) and ``swaps`` (morphs started).
        """

        _esm = STATIC / "player.js"
        _css = STATIC / "player.css"
        audio = t.Bytes(b"").tag(sync=True)
        sr = t.Int(22050).tag(sync=True)
        n_channels = t.Int(1).tag(sync=True)
        version = t.Int(0).tag(sync=True)
        label = t.Unicode("").tag(sync=True)
        fade_ms = t.Float(20.0).tag(sync=True)
        playing = t.Bool(False).tag(sync=True)
        volume = t.Float(0.8).tag(sync=True)
        draft = t.Bool(False).tag(sync=True)
        rest_ms = t.Int(150).tag(sync=True)
        context_state = t.Unicode("none").tag(sync=True)
        swaps = t.Int(0).tag(sync=True)
        channel = t.Unicode("").tag(sync=True)
        path_key = t.Unicode("").tag(sync=True)
        path_kind = t.Unicode("ab").tag(sync=True)
        path_size = t.Int(0).tag(sync=True)
        path_coarse = t.Int(0).tag(sync=True)

        #: The page asks for the full-quality morph after a draft (see the module's docstring).
        refines = True

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._refine_callbacks = []
            self._path_callbacks = []
            self.on_msg(self._on_msg)

        def show(self, y, sr, *, label="", draft=False):
            """Loop ``y`` (at ``sr`` Hz) from now on; ``draft``: a full-quality morph will follow
            when the page asks for it. One message carries it all."""
            with self.hold_sync():
                self.sr = int(sr)
                self.n_channels = n_channels(y)
                self.label = label
                self.draft = bool(draft)
                self.audio = pcm16(y)
                self.version += 1

        def on_refine(self, callback):
            """Call ``callback(version)`` when the page asks for the full-quality morph of draft ``version``."""
            self._refine_callbacks.append(callback)

        def offer_path(self, key, kind, size, coarse=None):
            """Tell the page that path ``key`` (``kind`` "ab": ``size`` steps of α; "xy": a ``size`` ×
            ``size`` grid; its first ``coarse`` steps make a coarse path) is to be had; it drops
            the path it holds and asks for this one."""
            with self.hold_sync():
                self.path_kind, self.path_size, self.path_key = kind, int(size), key
                self.path_coarse = int(coarse or (size if kind == "ab" else size * size))

        def on_path_request(self, callback):
            """Call ``callback(key, restart)`` when the page asks for more of path ``key``."""
            self._path_callbacks.append(callback)

        def send_steps(self, key, steps, sr, *, done=False):
            """Send rendered steps of path ``key`` (``steps``: a list of (index, point, y)), each
            as a binary buffer of 16-bit PCM (interleaved when stereo: each step says its
            channels); ``done``: the path has no more."""
            meta = [{"index": int(k), "point": point, "channels": n_channels(y)} for k, point, y in steps]
            self.send({"type": "steps", "key": key, "sr": int(sr), "steps": meta, "done": bool(done)},
                      buffers=[pcm16(y) for _, _, y in steps])

        def _on_msg(self, _widget, content, _buffers):
            if not isinstance(content, dict):
                return
            if content.get("type") == "refine":
                for callback in self._refine_callbacks:
                    callback(int(content.get("version", -1)))
            elif content.get("type") == "path":
                for callback in self._path_callbacks:
                    callback(str(content.get("key", "")), bool(content.get("restart", False)))

    return LoopPlayer


def output_item(obj):
    """``obj`` (a matplotlib figure, or anything with ``_repr_html_``) as an Output widget item.

    Built here rather than by IPython's formatters, so that it works the same with or
    without a running IPython shell.
    """
    if hasattr(obj, "savefig"):
        buf = io.BytesIO()
        obj.savefig(buf, format="png", dpi=80)
        data = {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": "<figure>"}
    else:
        data = {"text/html": obj._repr_html_(), "text/plain": repr(obj)}
    return {"output_type": "display_data", "data": data, "metadata": {}}


class FallbackPlayer:
    """Today's inline players, for where the live player cannot run; same ``show``.

    Parameters
    ----------
    reason : str
        Why the live player is not used, shown above the players.
    """

    #: Plain players play what they are given; no draft is ever sent to them.
    refines = False

    def __init__(self, reason):
        import ipywidgets as w

        self.reason = reason
        self.version = 0
        self.src = ""
        self.note = w.HTML(f"<i>live player unavailable ({reason}); plain players instead: press ▶ after each change</i>")
        self.out = w.Output()
        self.widget = w.VBox([self.note, self.out])

    def show(self, y, sr, *, label="", draft=False):
        player = play(y, sr)
        self.src = player.src_attr()
        self.out.outputs = (
            {"output_type": "stream", "name": "stdout", "text": label + "\n"},
            output_item(player),
        )
        self.version += 1


def make_player(*, live=True):
    """A ``LoopPlayer``, or a ``FallbackPlayer`` (saying why) where it cannot be had.

    Parameters
    ----------
    live : bool
        False asks for the plain players.

    Returns
    -------
    player : LoopPlayer or FallbackPlayer
        ``player.widget`` (or the player itself) goes into a layout; ``player.show(y, sr)``.
    """
    if not live:
        return FallbackPlayer("switched off")
    try:
        cls = player_class()
    except ImportError as exc:
        return FallbackPlayer(f"anywidget cannot be imported: {exc}; `pip install anywidget`")
    player = cls()
    player.widget = player
    return player
