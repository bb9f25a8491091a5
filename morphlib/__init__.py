"""morphlib: morph drum loops with a convolutional variational autoencoder.

The heavy parts (TensorFlow, Keras, librosa) load on first use, so ``import morphlib``
is quick and works on a machine without them::

    import morphlib as ml
    loops = ml.load_folder("data/Drums")                 # or ml.synth_drums("data/demo")
    model = ml.train(loops, "models/vae", epochs=500)    # run again to resume
    print(ml.evaluate(model, loops).summary())
    m = ml.morph(model, "Overkill J", "Kaputnik Beat R", alpha=0.5, loops=loops)
    ml.write_wav("morph.wav", m.y, sr=m.sr)
"""


__version__ = "0.1.0"

#: The public names: a folder of loops to a model to morphs to the panel. Everything else
#: is in a subpackage (``ml.sound``, ``ml.data``, ``ml.model``, ``ml.training``,
#: ``ml.morphing``, ``ml.ui``), whose modules load on first use too.
_EXPORTS = {
    # loops
    "load_folder": "data.dataset",
    "LoopSet": "data.dataset",
    "synth_drums": "data.synth",
    # settings
    "AnalysisSettings": "config",
    "Preset": "config",
    "get_preset": "config",
    "settings_for": "config",
    "settings_for_folder": "model.folder",
    "fast_mode": "config",
    # models
    "build_vae": "model.vae",
    "train": "training.trainer",
    "add_loops": "training.newloops",
    "load_model": "model.morphmodel",
    "MorphModel": "model.morphmodel",
    "evaluate": "morphing.evaluation",
    # morphs and sound
    "morph": "morphing.morphs",
    "morph_xy": "morphing.morphs",
    "crossfade": "morphing.morphs",
    "sweep": "morphing.sweeps",
    "sweep_xy": "morphing.sweeps",
    "griffin_lim": "sound.spectral",
    "write_wav": "sound.audio",
    # in a notebook
    "play": "ui.plots",
    "specplot": "ui.plots",
    "setup_paths": "ui.notebook",
    "MorphPanel": "ui.panel.morphpanel",
}
_SUBMODULES = ("sound", "data", "model", "training", "morphing", "ui", "cli", "config", "errors", "files", "progress")

from .errors import MorphlibError  # noqa: E402, F401  (every error morphlib raises on purpose; the rest in ml.errors)
from .lazy import lazy  # noqa: E402

__getattr__, __dir__ = lazy(__name__, modules=_SUBMODULES, names=_EXPORTS)
