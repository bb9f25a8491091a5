"""The public names: a small set at the top, the rest in the subpackages, all loaded on first use."""

import subprocess
import sys

import pytest

import morphlib as ml

PUBLIC = {
    "load_folder", "LoopSet", "synth_drums", "AnalysisSettings", "Preset", "get_preset", "settings_for",
    "settings_for_folder", "fast_mode", "build_vae", "train", "add_loops", "load_model", "MorphModel", "evaluate",
    "morph", "morph_xy", "crossfade", "sweep", "sweep_xy", "griffin_lim", "write_wav", "play", "specplot",
    "setup_paths", "MorphPanel",
}


def test_about_25_names_at_the_top_each_found():
    assert set(ml._EXPORTS) == PUBLIC
    for name in sorted(PUBLIC):
        assert getattr(ml, name) is not None, name


@pytest.mark.parametrize("old", ["widgets", "player", "pad", "picture", "notebook", "dataset", "magnitude", "show_strip",
                                 "LiveLossPlot", "checkpoint_status", "panel"])
def test_the_old_aliases_are_gone(old):
    with pytest.raises(AttributeError, match=old):
        getattr(ml, old)


@pytest.mark.parametrize("path", ["sound.audio.read_audio", "data.dataset.find_audio_files", "model.folder.ModelFolder",
                                  "training.lease.FolderLease", "morphing.evaluation.evaluate_morphs", "ui.show_strip",
                                  "ui.LiveLossPlot", "ui.panel.MorphPanel", "errors.ParameterError"])
def test_the_rest_is_in_the_subpackages(path):
    obj = ml
    for part in path.split("."):
        obj = getattr(obj, part)
    assert obj is not None


def test_importing_morphlib_loads_no_tensorflow():
    code = "import sys, morphlib; morphlib.sound; print(sorted(m for m in ('tensorflow', 'keras', 'librosa') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
