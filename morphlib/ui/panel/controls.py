"""The panel's dragged controls: the α slider and the XY pad (four loops at the corners),
and the save button that carries what they show.

Both are built on anywidget (front-end code in ``static/alpha.js`` and ``static/pad.js``),
imported when a panel is made. Both share a ``channel`` with the live player: while the
player holds the path (or the pad's grid) the hand's moves go to it in the page and play at
once, with no message to the kernel; the value is sent where the hand stops. Without such
a player each move is sent, as a plain slider's is. The save button shares the channel too:
its click carries the α and the point the page shows (``static/save.js``). The blends themselves are
:func:`morphlib.morphing.morphs.morph` and :func:`~morphlib.morphing.morphs.morph_xy`.
"""

import functools
import math

from ..panel import STATIC


@functools.lru_cache(maxsize=None)
def pad_class():
    """The ``XYPad`` widget class (anywidget imported here, not with morphlib)."""
    import anywidget
    import traitlets as t

    class XYPad(anywidget.AnyWidget):
        """A square with corners a, b, c, d at (0, 0), (1, 0), (0, 1), (1, 1) and a point (x, y).

        ``x``, ``y`` in [0, 1] follow the mouse (and the arrow keys); ``corners`` holds the
        four names shown at the corners; ``channel`` names the live player that plays the
        grid while the point is dragged.
        """

        _esm = STATIC / "pad.js"
        _css = STATIC / "pad.css"
        x = t.Float(0.5).tag(sync=True)
        y = t.Float(0.5).tag(sync=True)
        corners = t.List(t.Unicode(), default_value=["a", "b", "c", "d"]).tag(sync=True)
        channel = t.Unicode("").tag(sync=True)

    return XYPad


@functools.lru_cache(maxsize=None)
def alpha_class():
    """The ``AlphaSlider`` widget class (anywidget imported here, not with morphlib)."""
    import anywidget
    import traitlets as t

    class AlphaSlider(anywidget.AnyWidget):
        """α from 0 (sound A) to 1 (sound B): a range input with a readout.

        ``value`` in [0, 1] (in steps of ``step``); ``description`` is shown before it;
        ``channel`` names the live player that plays the α path while the hand drags.
        """

        _esm = STATIC / "alpha.js"
        _css = STATIC / "alpha.css"
        value = t.Float(0.5).tag(sync=True)
        step = t.Float(0.01).tag(sync=True)
        description = t.Unicode("α (A→B)").tag(sync=True)
        channel = t.Unicode("").tag(sync=True)

        @t.validate("value")
        def _clip(self, proposal):
            return min(1.0, max(0.0, float(proposal["value"])))

    return AlphaSlider


@functools.lru_cache(maxsize=None)
def save_class():
    """The ``SaveButton`` widget class (anywidget imported here, not with morphlib)."""
    import anywidget
    import traitlets as t

    class SaveButton(anywidget.AnyWidget):
        """A button whose click carries what the page's α slider and pad of the same
        ``channel`` show (``static/save.js``): the page sends a control's newer values only
        once the kernel has handled its last, and a click goes at once."""

        _esm = STATIC / "save.js"
        _css = STATIC / "save.css"
        description = t.Unicode("save").tag(sync=True)
        tooltip = t.Unicode("").tag(sync=True)
        channel = t.Unicode("").tag(sync=True)

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._click_callbacks = []
            self.on_msg(self._on_msg)

        def on_click(self, callback):
            """Call ``callback(button, shown=dict)`` on a click; ``shown`` may hold ``alpha``
            (float in [0, 1]) and ``xy`` ((x, y) in [0, 1]²), what the page showed."""
            self._click_callbacks.append(callback)

        def click(self, **shown):
            """What a click does (also for tests and scripts)."""
            for callback in self._click_callbacks:
                callback(self, shown=shown)

        def _on_msg(self, _widget, content, _buffers):
            if isinstance(content, dict) and content.get("event") == "click":
                self.click(**shown_values(content))

    return SaveButton


def shown_values(content):
    """``alpha`` and ``xy`` of a click's message where they are numbers, clipped to [0, 1];
    anything else the page sent is left out (the kernel keeps the values it has)."""
    def unit(v):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        return min(1.0, max(0.0, float(v))) if ok else None

    xy = content.get("xy")
    point = tuple(unit(v) for v in xy) if isinstance(xy, (list, tuple)) and len(xy) == 2 else (None,)
    shown = {"alpha": unit(content.get("alpha")), "xy": None if None in point else point}
    return {k: v for k, v in shown.items() if v is not None}
