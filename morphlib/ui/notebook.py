"""Helpers the notebooks call: where the data lives, live training plots, players.

``google.colab`` and ``IPython`` are imported inside functions, so this module imports
(and is tested) on a machine that has neither.
"""

import dataclasses
import os
import sys
import time

from ..errors import DataFolderError
from ..training.trainer import TrainingListener
from ..data.dataset import PAGE, _html_table, default_cache_dir, find_audio_files
from ..data.synth import synth_drums
from ..model.folder import BEST, META, read_history, read_meta
from ..model.morphmodel import load_model
from ..morphing.evaluation import evaluate
from .plots import play, plot_history, plot_strip, plot_sweep, specplot

#: Where Colab mounts Google Drive (``MORPHLIB_DRIVE`` moves it: the browser test's fake Colab
#: mounts a scratch folder).
DRIVE = os.environ.get("MORPHLIB_DRIVE", "/content/drive")
MY_DRIVE = os.path.join(DRIVE, "MyDrive")


def in_colab():
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or os.path.isdir("/content") and "COLAB_RELEASE_TAG" in os.environ


def mount_drive():
    """Mount Google Drive at ``/content/drive`` (Colab only; a no-op when mounted)."""
    if os.path.isdir(MY_DRIVE):
        return MY_DRIVE
    from google.colab import drive

    drive.mount(DRIVE)
    return MY_DRIVE


@dataclasses.dataclass
class Paths:
    """Where a notebook reads loops and writes models and exports."""

    data_dir: str
    model_dir: str
    export_dir: str
    demo: bool

    def __str__(self):
        demo = " (demo loops: put your own in your data folder and run again)" if self.demo else ""
        return f"loops: {self.data_dir}{demo}\nmodel: {self.model_dir}\nexports: {self.export_dir}"


def project_root(start=None):
    """The repository folder (the one holding ``morphlib/``) seen from a notebook, else cwd."""
    here = os.path.abspath(start or os.getcwd())
    for folder in (here, os.path.dirname(here)):
        if os.path.isdir(os.path.join(folder, "morphlib")) and os.path.isdir(os.path.join(folder, "notebooks")):
            return folder
    return here


#: Where demo loops and models live in Colab: the runtime's own disk, so that a demo run
#: writes nothing into Drive.
COLAB_DEMO = "/content/morphlib-demo"


def demo_dir():
    """The folder of the demo loops: ``MORPHLIB_DEMO_DIR``, else ``demo-loops`` in the cache
    folder (``dataset.default_cache_dir``): never a folder of the user's."""
    return os.environ.get("MORPHLIB_DEMO_DIR") or os.path.join(default_cache_dir(), "demo-loops")


def setup_paths(data_dir=None, model_dir=None, export_dir=None, *, fast=False, preset=None, n_demo=74, seed=0):
    """Choose the folders a notebook uses, with demo loops where the user has none.

    In Colab (Drive is mounted if needed): loops in ``MyDrive/Drums``, models in
    ``MyDrive/vae_model``, exports in ``MyDrive/morph_exports``, as in the tutorial.
    Locally: ``data/``, ``models/vae`` and ``exports/`` of the repository.

    When the data folder holds no audio, ``n_demo`` synthetic loops are made in a folder
    of their own (``demo_dir()``), never in the user's, and the model goes into a folder
    of its own too (the model folder's name plus ``_demo``; in Colab on the runtime's
    disk): a model trained on demo loops never becomes the start of one of the user's.
    In fast mode the model folder gets a ``_fast`` suffix, so that a quick run never
    resumes (or spoils) a full one; a preset other than the tutorial's gets its own
    (``vae_studio``), so that both models can be kept and compared. With ``preset=None``
    and no ``model_dir``, the model folder is the newest one trained beside the default
    (``model_folders`` lists them): the notebooks that use a model take its preset.

    Parameters
    ----------
    data_dir, model_dir, export_dir : str or None
        Your own folders; None for the environment variables ``MORPHLIB_DATA_DIR``,
        ``MORPHLIB_MODEL_DIR`` and ``MORPHLIB_EXPORT_DIR`` where set (the tests use
        them to run the notebooks in a scratch folder), else the defaults above.
    fast : bool
    preset : str or None
        The preset the notebook trains (its model folder's suffix); None to use the
        newest trained model folder.
    n_demo : int > 0
    seed : int >= 0

    Returns
    -------
    paths : Paths
    """
    env = os.environ.get
    defaults = _default_folders()
    data_dir = os.fspath(on_drive(data_dir) or env("MORPHLIB_DATA_DIR") or defaults[0])
    export_dir = os.fspath(export_dir or env("MORPHLIB_EXPORT_DIR") or defaults[2])
    if data_dir.startswith(DRIVE) and not os.path.isdir(MY_DRIVE):
        raise DataFolderError(f"{data_dir} is on Google Drive, which is not mounted: run the setup cell (it mounts Drive) first")
    os.makedirs(data_dir, exist_ok=True)
    demo = not find_audio_files(data_dir)
    given = model_dir or env("MORPHLIB_MODEL_DIR")
    base = os.fspath(given or defaults[1])
    if demo:
        if not given and in_colab():
            base = os.path.join(COLAB_DEMO, os.path.basename(base))
        base += "_demo"
        print(f"no audio files in {data_dir}: using {n_demo} demo loops (in {demo_dir()}, not in your folder)")
        data_dir = demo_dir()
        synth_drums(data_dir, n=n_demo, seed=seed, progress=False)
    if given:
        chosen = base
    elif preset is None:
        chosen = _newest_model(base, fast=fast) or base + model_suffix(None, fast=fast)
    else:
        chosen = base + model_suffix(preset, fast=fast)
    return Paths(data_dir, chosen, export_dir, demo)


def on_drive(path):
    """A form field's folder: ``"MyDrive/Drums"`` is ``/content/drive/MyDrive/Drums`` in Colab and
    None elsewhere (the local default); any other path is itself."""
    if path is None:
        return None
    path = os.fspath(path)
    if path == "MyDrive" or path.startswith("MyDrive/"):
        return os.path.join(DRIVE, path) if in_colab() else None
    return path


def _default_folders():
    if in_colab():
        base = mount_drive()
        return os.path.join(base, "Drums"), os.path.join(base, "vae_model"), os.path.join(base, "morph_exports")
    root = project_root()
    return os.path.join(root, "data"), os.path.join(root, "models", "vae"), os.path.join(root, "exports")


def _candidates(base, *, fast):
    """Model folders beside ``base`` that ``setup_paths`` may have made: ``base`` plus a suffix
    (``_studio``, ``_fast``, ...), those of fast mode only in fast mode."""
    folder, name = os.path.split(base)
    try:
        entries = sorted(os.listdir(folder or os.curdir))
    except OSError:
        return []
    found = []
    for entry in entries:
        suffix = entry[len(name):]
        if entry.startswith(name) and (suffix == "" or suffix.startswith("_")) and ("_demo" in entry) == base.endswith("_demo") \
                and suffix.endswith("_fast") == fast and os.path.isfile(os.path.join(folder, entry, META)):
            found.append(os.path.join(folder, entry))
    return found


def _newest_model(base, *, fast):
    trained = [(os.path.getmtime(os.path.join(d, BEST)), d) for d in _candidates(base, fast=fast) if os.path.exists(os.path.join(d, BEST))]
    return max(trained)[1] if trained else None


def model_folders(paths, *, fast=False):
    """The trained model folders beside ``paths.model_dir``, as a table: which one the
    notebook opened, its preset, epochs, loops and when it was last saved.

    Parameters
    ----------
    paths : Paths
    fast : bool

    Returns
    -------
    table : an object that renders as an HTML table in a notebook (``.rows`` holds the rows)
    """
    base = paths.model_dir
    for suffix in ("_fast", *(model_suffix(p) for p in ("studio", "studio44"))):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    rows = []
    for folder in sorted(set(_candidates(base, fast=fast)) | {paths.model_dir}):
        if not os.path.exists(os.path.join(folder, BEST)):
            continue
        meta = read_meta(folder)
        saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(os.path.join(folder, BEST))))
        rows.append({"": "→" if folder == paths.model_dir else "", "model folder": folder, "preset": meta["preset"].name,
                     "epochs": len(read_history(folder)), "loops": meta["data"]["n_files"], "saved": saved})
    table = _Html(_html_table(rows, caption="trained model folders (→ the one this notebook uses; set MODEL_DIR for another)"))
    table.rows = rows
    return table


def model_suffix(preset, *, fast=False):
    """The model folder's suffix for a preset: ``""`` (tutorial), ``"_studio"``, ``"_fast"``."""
    if fast:
        return "_fast"
    name = getattr(preset, "name", preset)
    return f"_{name}" if name and name != "tutorial" else ""


def preset_folders(model_dir, preset, presets=("tutorial", "studio")):
    """The model folders the notebooks use for each of ``presets``, from the one of ``preset``.

    ``preset_folders("models/vae_studio", "studio")`` gives
    ``{"tutorial": "models/vae", "studio": "models/vae_studio"}``.
    """
    suffix = model_suffix(preset)
    base = model_dir[: -len(suffix)] if suffix and model_dir.endswith(suffix) else model_dir
    return {name: base + model_suffix(name) for name in presets}


def compare_models(model_dirs, loops, *, n_iter=32):
    """The reconstruction and audio figures of several models on the same loops, side by side.

    Parameters
    ----------
    model_dirs : dict of {str: str}
        A label for each model folder; folders that hold no model are left out.
    loops : LoopSet

    Returns
    -------
    table : an object that renders as an HTML table in a notebook (``.rows`` holds the figures)
    """
    rows = []
    for label, folder in model_dirs.items():
        if not os.path.exists(os.path.join(folder, "model.keras")):
            continue
        model = load_model(folder)
        ev = evaluate(model, loops, n_iter=n_iter)
        rows.append({
            "model": label, "epochs": len(model.history), "cosine": round(ev.cosine_mean, 3),
            "log-spectral distance (dB)": round(ev.mean("audio_lsd_db"), 2), "energy > 4 kHz (dB)": round(ev.mean("hf_db"), 1),
            "onset correlation": round(ev.mean("onset_corr"), 3), "decoded bins at 0 (%)": round(100 * ev.mean("zero_bins"), 1),
        })
    table = _Html(_html_table(rows, caption="what each model gives the listener (audio after Griffin-Lim vs the original)"))
    table.rows = rows
    return table


def show_loops(loops, indices=(0, 1, 2), *, fmax=None):
    """Spectrogram and player for a few loops (labelled axes: s, Hz, dB)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    indices = [loops.index(i) for i in indices if (isinstance(i, str) or i < len(loops))]
    fig, axes = plt.subplots(1, len(indices), figsize=(4.5 * len(indices), 3.2), layout="constrained", squeeze=False)
    for ax, i in zip(axes[0], indices):
        specplot(loops.S[i], loops.settings, ax=ax, title=f"{i}: {loops.names[i]}", fmax=fmax)
    plt.show()
    for i in indices:
        print(f"{i}: {loops.names[i]}")
        display(play(loops.stereo_y(i), loops.settings.sr))


def show_reconstruction(model, loops, key, *, n_iter=32, label=""):
    """Original vs reconstruction of one loop: spectrograms on one scale and players."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    i = loops.index(key)
    R = model.reconstruct(loops.S[i])[0]
    axes = plot_strip([loops.S[i], R], loops.settings, titles=[f"original: {loops.names[i]}", "reconstruction"])
    if label:
        axes[0].figure.suptitle(label)
    plt.show()
    print("original" + (" (its mid with its stereo image)" if loops.image(i) is not None else ""))
    display(play(loops.stereo_y(i), loops.settings.sr))
    print("reconstruction (Griffin-Lim)")
    display(play(model.to_audio(R, n_iter=n_iter, image=loops.image(i)), loops.settings.sr))


def show_strip(morphs, settings):
    """A static morph strip: spectrograms side by side, then one player per morph.

    Renders wherever a notebook renders images and audio, with or without widgets.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    axes = plot_strip(morphs, settings)
    axes[0].figure.suptitle(f"{morphs[0].a} (α = 0) → {morphs[0].b} (α = 1)")
    plt.show()
    for m in morphs:
        print(f"{m.method} α = {m.alpha:.2f}")
        display(play(m.y, m.sr))


def show_sweep(m, settings):
    """A sweep's spectrogram with its α curve, and its player."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    plot_sweep(m, settings)
    plt.show()
    display(play(m.y, m.sr))


class LiveLossPlot(TrainingListener):
    """A loss curve that redraws in place while a notebook trains, titled with when the last
    checkpoint was saved and how much training a lost runtime would cost at that moment.

    Pass it to ``train(..., callbacks=[LiveLossPlot()])``: the epochs already done (when
    resuming) are drawn too.

    Parameters
    ----------
    every_s : float > 0
        Least seconds between redraws.
    """

    def __init__(self, *, every_s=2.0):
        super().__init__()
        self.every_s = every_s
        self._last = 0.0
        self._handle = None

    @property
    def rows(self):
        return self.keeper.history if self.keeper is not None else []

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self._last >= self.every_s:
            self.draw()

    def on_train_end(self, logs=None):
        self.draw()

    def draw(self):
        import matplotlib.pyplot as plt
        from IPython.display import display

        self._last = time.monotonic()
        ax = plot_history(self.rows)
        if self.keeper is not None:
            ax.set_title(f"training — {self.keeper.status()}", fontsize="medium")
        fig = ax.figure
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)


def sorted_table(evaluation):
    """The per-file figures, best cosine first, as an HTML-rendering table."""
    rows = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in f.items()} for f in evaluation.sorted_files()]
    return _Html(_html_table(rows, caption=evaluation.summary()))


class _Html:
    def __init__(self, html):
        self.html = html

    def _repr_html_(self):
        return self.html



def loop_table(loops, *, per_page=None):
    """The loop table a page at a time, with a search box: usable for 20,000 loops.

    Parameters
    ----------
    loops : LoopSet
    per_page : int > 0 or None
        Rows per page (default ``dataset.PAGE``).

    Returns
    -------
    box : ipywidgets.VBox
        A search box (part of a name, any case), ◀ / ▶ buttons, "page p of n", the rows.
    """
    import ipywidgets as widgets

    per_page = per_page or PAGE
    search = widgets.Text(placeholder="search names", description="search", continuous_update=True)
    back, forward = widgets.Button(description="◀", layout={"width": "3em"}), widgets.Button(description="▶", layout={"width": "3em"})
    where, rows = widgets.Label(), widgets.HTML()
    state = {"page": 0}

    def matching():
        text = search.value.strip().casefold()
        return [i for i, name in enumerate(loops.names) if text in name.casefold()] if text else range(len(loops))

    def show(*_):
        hits = matching()
        pages = max(1, -(-len(hits) // per_page))
        state["page"] = min(max(state["page"], 0), pages - 1)
        start = state["page"] * per_page
        picked = hits[start : start + per_page]
        rows.value = _html_table([loops.rows(i, i + 1)[0] for i in picked], caption=f"{len(hits)} of {len(loops)} loops")
        where.value = f"page {state['page'] + 1} of {pages}"
        back.disabled, forward.disabled = state["page"] == 0, state["page"] >= pages - 1

    def turn(step):
        def on_click(_):
            state["page"] += step
            show()

        return on_click

    def on_search(_):
        state["page"] = 0
        show()

    back.on_click(turn(-1))
    forward.on_click(turn(+1))
    search.observe(on_search, names="value")
    show()
    box = widgets.VBox([widgets.HBox([search, back, where, forward]), rows])
    box.back, box.forward, box.search, box.rows, box.where = back, forward, search, rows, where  # for tests and scripts
    return box
