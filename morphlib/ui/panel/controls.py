"""The panel's dragged controls: the α slider and the XY pad (four loops at the corners).

Both are built on anywidget (front-end code in ``static/alpha.js`` and ``static/pad.js``),
imported when a panel is made. Both share a ``channel`` with the live player: while the
player holds the path (or the pad's grid) the hand's moves go to it in the page and play at
once, with no message to the kernel; the value is sent where the hand stops. Without such
a player each move is sent, as a plain slider's is. The blends themselves are
:func:`morphlib.morphing.morphs.morph` and :func:`~morphlib.morphing.morphs.morph_xy`.
"""

import functools

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
