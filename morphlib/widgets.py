"""The morph panel: choose A and B, drag α, hear and see the morph, save it.

Works with ipywidgets 7.7 (Google Colab) and 8.x (JupyterLab); ``ipywidgets`` and
``IPython`` are imported when a panel is made, not when morphlib is imported.
"""

import io
import os


from .audio import safe_filename, unique_path, write_wav
from .morphing import METHODS, Morph, crossfade, interpolate


def _png(fig):
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


class MorphPanel:
    """Interactive morphing between two loops of a trained model.

    Every change of A, B, α, interpolation or Griffin-Lim iterations redraws the
    spectrograms (A, morph, B, and the naive crossfade) and replaces the audio players.
    The loops are encoded once, so a change costs one decode and one Griffin-Lim.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
    export_dir : str
        Where "save" writes WAV files (never overwriting earlier exports).
    a, b : str or int
        Initial sounds.
    alpha : float in [0, 1]
    n_iter : int > 0
        Initial Griffin-Lim iterations.

    Attributes
    ----------
    morph : Morph
        The current morph.
    audio_src : str
        The current morph's player source (a data URI), which changes with every morph.
    """

    def __init__(self, model, loops, *, export_dir, a=0, b=1, alpha=0.5, n_iter=32, seed=0):
        import ipywidgets as w

        model.check(loops)
        self.model, self.loops, self.export_dir, self.seed = model, loops, os.fspath(export_dir), seed
        self.z = model.encode(loops.S)
        names = list(loops.names)
        layout = w.Layout(width="45%")
        self.a = w.Dropdown(options=names, value=names[loops.index(a)], description="sound A", layout=layout)
        self.b = w.Dropdown(options=names, value=names[loops.index(b)], description="sound B", layout=layout)
        self.alpha = w.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="α (A→B)", continuous_update=False, readout_format=".2f", layout=w.Layout(width="90%"))
        # A separate label: ipywidgets 8 puts a ToggleButtons description above the buttons.
        self.method = w.ToggleButtons(options=list(METHODS), value="linear")
        self.n_iter = w.IntSlider(value=n_iter, min=1, max=128, description="GL iters", continuous_update=False)
        self.save_button = w.Button(description="save morph as WAV", icon="save", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.image = w.Image(format="png")
        self.players = w.Output()
        for control in (self.a, self.b, self.alpha, self.method, self.n_iter):
            control.observe(self._on_change, names="value")
        self.save_button.on_click(self._on_save)
        self.widget = w.VBox([
            w.HBox([self.a, self.b]), self.alpha, w.HBox([w.Label("blend"), self.method, self.n_iter]),
            self.image, self.players, w.HBox([self.save_button, self.status]),
        ])
        self.morph = None
        self.audio_src = ""
        self.update()

    def _on_change(self, change):
        self.update()

    def update(self):
        """Recompute the morph and the crossfade and redraw everything."""
        from IPython.display import display

        from .plots import play, plot_strip

        i, j = self.loops.index(self.a.value), self.loops.index(self.b.value)
        al = float(self.alpha.value)
        z = interpolate(self.z[i], self.z[j], al, method=self.method.value)
        S = self.model.decode(z)[0]
        y = self.model.to_audio(S, n_iter=self.n_iter.value, seed=self.seed)
        self.morph = Morph(self.loops.names[i], self.loops.names[j], al, self.method.value, S, y, self.model.settings.sr)
        self.baseline = crossfade(self.loops, i, j, al, n_iter=self.n_iter.value, seed=self.seed)
        axes = plot_strip(
            [self.loops.S[i], S, self.loops.S[j], self.baseline.S],
            self.model.settings,
            titles=[f"A: {self.morph.a}", f"VAE morph α = {al:.2f}", f"B: {self.morph.b}", f"crossfade α = {al:.2f}"],
        )
        self.image.value = _png(axes[0].figure)
        player = play(y, self.morph.sr)
        self.audio_src = player.src_attr()
        self.players.clear_output(wait=True)
        with self.players:
            print(f"VAE morph, α = {al:.2f} ({self.method.value})")
            display(player)
            print("naive crossfade of the two spectrograms, same α")
            display(play(self.baseline.y, self.baseline.sr))
        self.status.value = ""

    def _on_save(self, _button=None):
        path = self.save()
        self.status.value = f"saved <code>{path}</code>"

    def save(self):
        """Write the current morph into ``export_dir`` under a new name; return its path."""
        name = safe_filename(self.morph.name)
        path = unique_path(os.path.join(self.export_dir, name + ".wav"))
        return write_wav(path, self.morph.y, sr=self.morph.sr)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
