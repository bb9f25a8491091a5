"""The latent map: every loop placed by the first two principal components of its latent mean.

Which loops the model sees as alike, where A and B (or the pad's corners) lie, and the
path a morph takes between them. :func:`latent_map` computes it, :func:`plot_latent_map`
draws it with matplotlib (``03_evaluate``), and :func:`map_class` is the clickable widget
the morph panel shows (front-end code in ``static/latentmap.js``).
"""

import dataclasses
import functools

import numpy as np

from ..panel import STATIC
from ..plots import _axes


@dataclasses.dataclass
class LatentMap:
    """A 2-D projection (PCA) of latent vectors.

    Attributes
    ----------
    xy : np.ndarray [shape=(n, 2)]
        Each loop's place, in principal-component units.
    names : list of str
    mean : np.ndarray [shape=(latent_dim,)]
    components : np.ndarray [shape=(2, latent_dim)]
        The two principal directions (rows, unit length).
    explained : np.ndarray [shape=(2,)]
        Fraction of the latent variance each component holds, in [0, 1].
    """

    xy: np.ndarray
    names: list
    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def project(self, z):
        """Places of latent vectors ``z`` [shape=(m, latent_dim) or (latent_dim,)] on the map."""
        z = np.asarray(z, np.float64)
        return (z - self.mean) @ self.components.T

    def unit(self, xy):
        """Map places scaled into [0, 1]² (with a margin), for drawing."""
        lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        return (np.asarray(xy) - lo) / span * 0.9 + 0.05

    def axis_labels(self):
        return [f"PC {k + 1} ({100 * e:.0f} % of the latent variance)" for k, e in enumerate(self.explained)]


def latent_map(model, loops=None, *, z=None, names=None):
    """The PCA map of the loops' latent means.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet or None
        Encoded here; or pass ``z`` and ``names`` directly.
    z : np.ndarray [shape=(n, latent_dim)] or None
    names : list of str or None

    Returns
    -------
    map : LatentMap
    """
    if z is None:
        z, names = model.latents_of(loops), list(loops.names)
    z = np.asarray(z, np.float64)
    mean = z.mean(axis=0)
    centred = z - mean
    if len(z) < 2 or not np.any(centred):
        components = np.eye(2, z.shape[1])
        explained = np.zeros(2)
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        components = np.zeros((2, z.shape[1]))
        components[: min(2, len(vt))] = vt[:2]
        var = s**2
        explained = np.zeros(2)
        explained[: min(2, len(var))] = (var / var.sum())[:2]
    return LatentMap(centred @ components.T, list(names), mean, components, explained)


def plot_latent_map(model, loops=None, *, lmap=None, marks=None, ax=None, labels=True):
    """Draw the latent map: a dot per loop, labelled, with marked loops ringed.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet or None
    lmap : LatentMap or None
        A map already computed (else computed from ``loops``).
    marks : dict of {str: int} or None
        Labels for some loops, e.g. ``{"A": 0, "B": 5}``.
    ax : matplotlib.axes.Axes or None
    labels : bool
        Write every loop's name (at most 40 loops; marked ones always).

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    lmap = lmap or latent_map(model, loops)
    ax = _axes(ax, figsize=(6, 5))
    ax.scatter(lmap.xy[:, 0], lmap.xy[:, 1], s=18, alpha=0.8)
    marks = marks or {}
    for i, name in enumerate(lmap.names):
        if labels and len(lmap.names) <= 40 or i in marks.values():
            ax.annotate(name, lmap.xy[i], xytext=(4, 3), textcoords="offset points", fontsize="x-small")
    for label, i in marks.items():
        ax.scatter(*lmap.xy[i], s=90, facecolors="none", edgecolors="crimson", linewidths=1.5)
        ax.annotate(label, lmap.xy[i], xytext=(-10, -12), textcoords="offset points", color="crimson", fontweight="bold")
    x_label, y_label = lmap.axis_labels()
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title("latent map: loops the model sees as alike lie close")
    return ax


@functools.lru_cache(maxsize=None)
def map_class():
    """The clickable ``LatentMapWidget`` class (anywidget imported here, not with morphlib)."""
    import anywidget
    import traitlets as t

    class LatentMapWidget(anywidget.AnyWidget):
        """The map in the page: ``points`` and ``path`` in [0, 1]², ``marks`` ({label: index}),
        ``current`` (the point heard). A click on a loop calls the ``on_pick`` callbacks with
        its index."""

        _esm = STATIC / "latentmap.js"
        _css = STATIC / "latentmap.css"
        points = t.List().tag(sync=True)
        names = t.List(t.Unicode()).tag(sync=True)
        marks = t.Dict().tag(sync=True)
        path = t.List().tag(sync=True)
        current = t.List().tag(sync=True)
        caption = t.Unicode("").tag(sync=True)
        x_label = t.Unicode("PC 1").tag(sync=True)
        y_label = t.Unicode("PC 2").tag(sync=True)
        show_names = t.Bool(True).tag(sync=True)

        def __init__(self, lmap, **kwargs):
            super().__init__(**kwargs)
            self.lmap = lmap
            self.points = self._rounded(lmap.unit(lmap.xy))
            self.names = list(lmap.names)
            self.x_label, self.y_label = lmap.axis_labels()
            self._pick_callbacks = []
            self.on_msg(self._on_msg)

        @staticmethod
        def _rounded(xy):
            return [[round(float(a), 4), round(float(b), 4)] for a, b in np.atleast_2d(xy)]

        def show(self, *, marks, path_z, current_z):
            """Mark loops, draw the path through latent vectors ``path_z`` and the point ``current_z``."""
            self.marks = {k: int(v) for k, v in marks.items()}
            self.path = self._rounded(self.lmap.unit(self.lmap.project(path_z)))
            self.current = self._rounded(self.lmap.unit(self.lmap.project(current_z)))[0]

        def on_pick(self, callback):
            """Call ``callback(index)`` when a loop is clicked."""
            self._pick_callbacks.append(callback)

        def pick(self, index):
            """What a click on loop ``index`` does (also for tests and scripts)."""
            for callback in self._pick_callbacks:
                callback(int(index))

        def _on_msg(self, _widget, content, _buffers):
            if isinstance(content, dict) and content.get("type") == "pick":
                self.pick(content["index"])

    return LatentMapWidget
