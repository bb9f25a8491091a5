"""What a user sees: the morph panel, plots of spectrograms and figures (axes in s, Hz, dB),
and the helpers the notebooks call (ddsp's ``colab`` and ``plotting``, in one package).

Its names load on first use, so that ``import morphlib`` stays quick::

    ml.ui.show_strip(morphs, model.settings)
    ml.ui.LiveLossPlot()
"""

from ..lazy import lazy

#: The helpers notebooks call, by module.
_NAMES = {
    **{name: "notebook" for name in ("setup_paths", "model_folders", "preset_folders", "compare_models", "show_loops",
                                     "show_reconstruction", "show_strip", "show_sweep", "LiveLossPlot", "sorted_table",
                                     "loop_table", "in_colab", "mount_drive")},
    **{name: "plots" for name in ("play", "specplot", "plot_history", "plot_cosine", "plot_audio", "plot_morphs",
                                  "plot_strip", "plot_sweep")},
    "latent_map": "panel.latentmap",
    "plot_latent_map": "panel.latentmap",
    "MorphPanel": "panel.morphpanel",
}

__getattr__, __dir__ = lazy(__name__, modules=("notebook", "panel", "plots"), names=_NAMES)
