"""The morph panel: an instrument for morphing loops in a notebook, and its front end.

``morphpanel``  :class:`MorphPanel`, the controls and what each change renders
``delivery``    how every widget message reaches the page (inside a handler, as Colab needs)
``player``      the live loop player (Web Audio) and the plain fallback players
``path``        the α path (or the pad's grid) the live player holds, so that a drag plays in the page
``controls``    the α slider and the XY pad of four loops, which hand a drag to the player
``latentmap``   the latent map: computed, drawn with matplotlib, and the clickable widget
``picture``     spectrogram pictures fast enough to follow a slider
``static/``     the front-end code of the player, the controls and the map (anywidget ES modules), and of
                the page a morph leaves as (``morph.html``, ``.js``, ``.css``: ``morphlib.ui.export``)

``ipywidgets``, ``anywidget`` and ``IPython`` are imported when a panel is made, so that
``import morphlib`` works on a machine without them.
"""

import pathlib

from ...lazy import lazy

#: The front-end code (JavaScript and CSS) the widgets load.
STATIC = pathlib.Path(__file__).parent / "static"

_EXPORTS = {
    "MorphPanel": "morphpanel",
    "make_player": "player",
    "latent_map": "latentmap",
    "plot_latent_map": "latentmap",
    "SpectrogramStrip": "picture",
    "strict": "delivery",
}

__getattr__, __dir__ = lazy(__name__, names=_EXPORTS)
