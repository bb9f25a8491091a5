"""Spectrogram pictures fast enough to follow a slider.

Drawing a matplotlib figure per slider move costs more than the whole morph. A
:class:`SpectrogramStrip` draws its figure once — axes in seconds and Hz, titles and a dB
colour bar — and afterwards only paints new pixels into the image areas of that drawing
and encodes it: a JPEG at quality 90 in 0.4 ms and about 35 kB (a PNG took 4 ms for 75 kB),
so that a slider move spends its time on the sound.
"""

import io

import numpy as np

from ...config import AnalysisSettings
from ...sound.spectral import to_db


class SpectrogramStrip:
    """Spectrograms side by side on one dB scale, re-painted without redrawing the figure.

    Parameters
    ----------
    settings : AnalysisSettings
        Sample rate and hop, for the axes in seconds and Hz.
    titles : list of str
        One per panel.
    ref : float > 0
        Magnitude drawn as 0 dB in every panel (so that they compare).
    top_db : float > 0
        Range shown below 0 dB.
    fmax : float or None
        Highest frequency shown, Hz.
    dpi : int > 0
    """

    def __init__(self, settings, titles, *, ref, top_db=80.0, fmax=None, dpi=72):
        import matplotlib

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.settings = settings or AnalysisSettings()
        self.ref, self.top_db = float(ref) if ref and ref > 0 else 1.0, float(top_db)
        self.fmax = fmax or self.settings.sr / 2
        n = len(titles)
        fig = Figure(figsize=(3.0 * n + 0.8, 2.8), dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, n, squeeze=False)[0]
        duration = self.settings.n_frames * self.settings.hop_length / self.settings.sr
        blank = np.full((2, 2), -self.top_db)
        for k, (ax, title) in enumerate(zip(axes, titles)):
            mesh = ax.imshow(blank, origin="lower", aspect="auto", extent=(0.0, duration, 0.0, self.settings.sr / 2),
                             cmap="magma", vmin=-self.top_db, vmax=0.0, interpolation="nearest")
            ax.set_ylim(0, self.fmax)
            ax.set_xlabel("time (s)")
            ax.set_title(title, fontsize="medium")
            if k == 0:
                ax.set_ylabel("frequency (Hz)")
        fig.colorbar(mesh, ax=list(axes), label="level (dB)")
        fig.canvas.draw()
        self.rgba = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        height = self.rgba.shape[0]
        self.boxes = []
        for ax in axes:  # each image area in pixels, rows counted from the top
            x0, y0, x1, y1 = ax.get_window_extent().extents
            self.boxes.append((int(round(height - y1)) + 1, int(round(height - y0)) - 1, int(round(x0)) + 1, int(round(x1)) - 1))
        self.lut = (matplotlib.colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
        self._rows = {}

    def _row_index(self, n_bins, height):
        """For each pixel row (top first), the frequency bin it shows."""
        key = (n_bins, height)
        if key not in self._rows:
            freqs = (np.arange(height)[::-1] + 0.5) / height * self.fmax
            self._rows[key] = np.minimum((freqs / (self.settings.sr / 2) * (n_bins - 1)).round().astype(int), n_bins - 1)
        return self._rows[key]

    def paint(self, k, S):
        """Show magnitude ``S`` [shape=(n_bins, n_frames)] in panel ``k``."""
        top, bottom, left, right = self.boxes[k]
        S = np.asarray(S, np.float32)
        rows = self._row_index(S.shape[0], bottom - top)
        cols = np.minimum((np.arange(right - left) + 0.5) / (right - left) * S.shape[1], S.shape[1] - 1).astype(int)
        db = to_db(S[rows][:, cols], ref=self.ref, top_db=self.top_db)
        level = np.clip((db + self.top_db) / self.top_db * 255, 0, 255).astype(np.uint8)
        self.rgba[top:bottom, left:right] = self.lut[level]

    #: The format :meth:`encode` writes (an ``ipywidgets.Image``'s ``format``).
    format = "jpeg"

    def encode(self):
        """The picture as JPEG bytes (quality 90)."""
        return self._save(format="jpeg", quality=90)

    def png(self):
        """The picture as PNG bytes (lossless; slower, bigger)."""
        return self._save(format="png", compress_level=1)

    def _save(self, **options):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(self.rgba).save(buf, **options)
        return buf.getvalue()
