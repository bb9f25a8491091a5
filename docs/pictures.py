"""Make the README's two pictures from a studio model trained on the demo loops.

    python docs/pictures.py                 # ~4 minutes of training on the clock, then the pictures
    python docs/pictures.py --minutes 8     # a longer budget (a second run with more minutes trains on)

Writes into ``docs/``:

- ``morph_strip.png``: five morphs from one demo loop to the one the model places furthest
  from it (α = 0, 0.25, 0.5, 0.75, 1; time in s, frequency in Hz, level in dB);
- ``panel.png``: the morph panel of ``notebooks/04_morph.ipynb`` in JupyterLab, in headless
  Chromium, after a drag of α (needs what the browser test needs: Debian's ``chromium`` and
  the packages of requirements.txt). ``--no-panel`` skips it.

The demo loops and the model are kept in the cache folder (``MORPHLIB_CACHE_DIR``, else
``~/.cache/morphlib``) under ``pictures/``: a run that is interrupted resumes.
"""

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

import morphlib as ml  # noqa: E402
from morphlib.data.dataset import default_cache_dir  # noqa: E402

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]


def trained_studio_model(folder, minutes):
    """74 demo loops and the studio preset trained on them for ``minutes`` (resumed when there)."""
    loops_dir, model_dir = os.path.join(folder, "loops"), os.path.join(folder, "model_studio")
    ml.synth_drums(loops_dir, n=74, seed=0)
    loops = ml.load_folder(loops_dir, ml.settings_for_folder(model_dir, "studio"))
    model = ml.train(loops, model_dir, preset="studio", max_minutes=minutes)
    return loops, model, model_dir


def morph_strip(model, loops, out):
    import matplotlib

    matplotlib.use("Agg")
    z = model.encode(loops.S)
    a, b = 0, int(np.argmax(np.linalg.norm(z - z[0], axis=1)))  # the furthest pair: the most audible morph
    morphs = ml.morph(model, a, b, ALPHAS, loops=loops)
    axes = ml.ui.plot_strip(morphs, model.settings)
    axes[0].figure.suptitle(f"studio preset, demo loops: {loops.names[a]} (α = 0) → {loops.names[b]} (α = 1)")
    axes[0].figure.savefig(out, dpi=90)
    return shrink(out)


def panel_picture(loops_dir, model_dir, out):
    """Notebook 04 in JupyterLab (the browser test's server), its panel after a drag of α."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_ARGS, FRONT_ENDS, _drag_alpha, _open_and_run_all, _press_play, _rendered_panel, find_chromium, serve

    front_end = FRONT_ENDS["jupyterlab"]()
    with tempfile.TemporaryDirectory(prefix="morphlib-pictures-") as workspace, \
            serve(front_end, workspace, data_dir=loops_dir, model_dir=model_dir) as server, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(os.path.join(workspace, "profile"), executable_path=find_chromium(),
                                                       headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(120_000)
            _open_and_run_all(page, front_end, server)
            panel = _rendered_panel(page)
            _press_play(page, front_end, panel)
            _drag_alpha(page, front_end, panel, 0.65)
            panel.screenshot(path=out)
        finally:
            context.close()
    return shrink(out)


def shrink(path, colors=128):
    """The PNG at ``path`` saved again with a palette of ``colors``: a third of its size, the
    README's pictures under 200 KB (tests/test_docs.py)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget of the studio model (default 4)")
    parser.add_argument("--out", default=os.path.join(REPO, "docs"), help="folder of the pictures (default docs/)")
    parser.add_argument("--no-panel", action="store_true", help="only the morph strip (no browser needed)")
    args = parser.parse_args(argv)
    folder = os.path.join(default_cache_dir(), "pictures")
    loops, model, model_dir = trained_studio_model(folder, args.minutes)
    print(morph_strip(model, loops, os.path.join(args.out, "morph_strip.png")))
    if not args.no_panel:
        print(panel_picture(os.path.join(folder, "loops"), model_dir, os.path.join(args.out, "panel.png")))


if __name__ == "__main__":
    main()
