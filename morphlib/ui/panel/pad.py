"""The XY pad widget: four loops at the corners, one point dragged with the mouse.

The blend itself is :func:`morphlib.morphing.morphs.morph_xy`; this module holds only the control
(front-end code in ``static/pad.js``), built on anywidget, imported when a pad is made.
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
        four names shown at the corners.
        """

        _esm = STATIC / "pad.js"
        _css = STATIC / "pad.css"
        x = t.Float(0.5).tag(sync=True)
        y = t.Float(0.5).tag(sync=True)
        corners = t.List(t.Unicode(), default_value=["a", "b", "c", "d"]).tag(sync=True)

    return XYPad
