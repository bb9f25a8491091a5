"""morphlib: morph drum loops with a convolutional variational autoencoder.

The heavy parts (TensorFlow, Keras, librosa) load on first use, so ``import morphlib``
is quick and works on a machine without them::

    import morphlib as ml
    loops = ml.load_folder("data/Drums")                 # or ml.synth_drums("data/demo")
    model = ml.train(loops, "models/vae", epochs=500)    # run again to resume
    print(ml.evaluate(model, loops).summary())
    m = ml.morph(model, loops, "Overkill J", "Kaputnik Beat R", alpha=0.5)
    ml.write_wav("morph.wav", m.y, sr=m.sr)
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "AnalysisSettings": "config",
    "Preset": "config",
    "PRESETS": "config",
    "fast_mode": "config",
    "get_preset": "config",
    "settings_for": "config",
    "settings_for_folder": "modelfolder",
    "synth_drums": "synth",
    "read_audio": "audio",
    "write_wav": "audio",
    "safe_filename": "audio",
    "unique_path": "audio",
    "magnitude": "spectral",
    "griffin_lim": "spectral",
    "pghi": "phase",
    "Recipe": "recipes",
    "RECIPES": "recipes",
    "get_recipe": "recipes",
    "get_strategy": "devices",
    "load_folder": "dataset",
    "LoopSet": "dataset",
    "train": "training",
    "add_loops": "newloops",
    "checkpoint_status": "modelfolder",
    "load_model": "morphing",
    "MorphModel": "morphing",
    "morph": "morphing",
    "crossfade": "morphing",
    "morph_xy": "morphing",
    "sweep": "sweeps",
    "sweep_xy": "sweeps",
    "interpolate": "morphing",
    "evaluate": "evaluation",
    "evaluate_morphs": "evaluation",
    "specplot": "plots",
    "play": "plots",
    "plot_history": "plots",
    "plot_strip": "plots",
    "plot_cosine": "plots",
    "plot_sweep": "plots",
    "plot_audio": "plots",
    "plot_morphs": "plots",
    "latent_map": "panel.latentmap",
    "plot_latent_map": "panel.latentmap",
    "show_sweep": "notebook",
    "build_vae": "model",
    "VAE": "model",
    "setup_paths": "notebook",
    "show_loops": "notebook",
    "loop_table": "notebook",
    "show_reconstruction": "notebook",
    "show_strip": "notebook",
    "LiveLossPlot": "notebook",
    "MorphPanel": "panel.morphpanel",
}
_SUBMODULES = {
    name: name for name in (
        "audio", "cli", "config", "dataset", "errors", "evaluation", "model", "modelfolder", "morphing", "notebook",
        "plots", "spectral", "sweeps", "synth", "training", "files", "audiometrics", "phase", "recipes", "pipeline",
        "devices", "store", "panel", "newloops", "tempo", "budget", "optimizer", "layers", "article", "weightsfile",
    )
}
# The panel's modules, which lived at the top level before they became ``morphlib.panel``.
_SUBMODULES.update(widgets="panel.morphpanel", player="panel.player", pad="panel.pad", latentmap="panel.latentmap",
                   picture="panel.picture")

from .errors import (  # noqa: E402, F401  (re-exported; light: no third-party import)
    ArchitectureError,
    AudioFileError,
    DataFolderError,
    ModelFolderError,
    MorphlibError,
    ParameterError,
    SettingsMismatchError,
    StoreError,
    UnknownSoundError,
    WidgetDeliveryError,
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{_SUBMODULES[name]}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'morphlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS, *_SUBMODULES])
