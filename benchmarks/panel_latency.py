"""The morph panel's latency: from a slider move (or a pad move) to the new morph rendered
in the kernel — decoded, phase reconstructed, picture and sound ready to send.

    python benchmarks/panel_latency.py                   # tutorial preset, 74 demo loops
    python benchmarks/panel_latency.py --preset studio   # the studio preset (its detail bank decodes too)
    python benchmarks/panel_latency.py --preset studio44 # the same at 44.1 kHz (n_fft 4096)
    python benchmarks/panel_latency.py --before 8ae986a  # also an earlier morphlib's panel
    python benchmarks/panel_latency.py --quick           # tiny sizes: checks that it runs

A model of the preset is trained for one epoch (latency does not depend on how
well it is trained). Each run makes 10 moves to random values and reports the median and
the worst of "ready" — from the move to a morph ready to send, which is the draft a move
renders in its handler (an earlier panel without drafts: its full render) — with the
target (median <= 100 ms, worst <= 200 ms) checked in the same run; then "full", the
full-quality render the page asks for once the hand rests, and where a draft's time goes
(decoder, Griffin-Lim, picture). The CPU is named with the flags that matter.
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from common import cpu_description, morphlib_at, report, run_json  # noqa: E402

TARGET_MEDIAN_MS, TARGET_WORST_MS = 100.0, 200.0

MOVES = """
import json, sys, time
import numpy as np
from morphlib.data.dataset import load_folder
from morphlib.model.morphmodel import load_model
try:
    from morphlib.ui.panel import MorphPanel
except ImportError:  # an earlier morphlib
    from morphlib.widgets import MorphPanel
model = load_model(sys.argv[2])
loops = load_folder(sys.argv[1], model.settings, progress=False, cache=sys.argv[3])
panel = MorphPanel(model, loops, export_dir=sys.argv[4], a=0, b=1)
wait = getattr(panel, "wait", lambda: None)
drafts = hasattr(panel, "_shown")  # this panel renders a draft in the move's own handler
rng = np.random.default_rng(0)
out = {}
def moves(name, move):
    ready, full = [], []
    for _ in range(int(sys.argv[5])):
        t = time.perf_counter()
        move()
        t_move = time.perf_counter()
        wait()
        t_full = time.perf_counter()
        ready.append(1000 * ((t_move if drafts else t_full) - t))
        full.append(1000 * (t_full - (t_move if drafts else t)))
    out[name] = {"ready": ready, "full": full}
def alpha():
    panel.alpha.value = round(float(rng.uniform(0.02, 0.98)), 2)
moves("alpha", alpha)
if hasattr(panel, "set_xy"):
    panel.mode.value = "xy"
    wait()
    moves("xy", lambda: panel.set_xy(*rng.uniform(0, 1, 2)))
if drafts:  # where a draft's time goes
    from morphlib.sound.spectral import phase_of
    S, z = panel.morph.S, model.encode(loops.S[:2]).mean(axis=0)
    mid = panel.morph.y if panel.morph.y.ndim == 1 else panel.morph.y.mean(axis=0)  # a stereo morph's mid
    phase, n = phase_of(mid, model.settings), int(panel.n_iter.value)
    def ms(fn, k=10):
        fn(); t = time.perf_counter()
        for _ in range(k): fn()
        return 1000 * (time.perf_counter() - t) / k
    out["parts"] = {
        "decoder": ms(lambda: model.decode(z)),
        "Griffin-Lim, draft": ms(lambda: model.to_audio(S, n_iter=n // 2, init=phase)),
        "Griffin-Lim, full": ms(lambda: model.to_audio(S, n_iter=n)),
        "picture": ms(lambda: panel._picture(panel._rendered, list(range(4)), S)),
    }
    if getattr(loops, "stereo", False):  # the stereo image rebuilt on the mid
        from morphlib.sound import stereo
        image = stereo.blend([loops.image(0), loops.image(1)], [0.5, 0.5], settings=loops.settings)
        out["parts"]["stereo image"] = ms(lambda: stereo.render(mid, image, model.settings))
print(json.dumps(out))
"""


def run(pythonpath, *args):
    # A script, not a kernel: no front end to deliver to, so strict delivery has nothing to check.
    return run_json(MOVES, args, pythonpath=pythonpath, cwd=os.path.dirname(args[0]), env={"MORPHLIB_STRICT_WIDGETS": "0"})


def main(argv=None):
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--preset", default="tutorial", help="tutorial (default), studio or studio44 (at 44.1 kHz)")
    p.add_argument("--moves", type=int, default=10)
    p.add_argument("--before", help="a git revision of morphlib whose panel to measure too")
    p.add_argument("--quick", action="store_true", help="8 loops, the tiny preset, 3 moves")
    p.add_argument("--work")
    p.add_argument("--json", help="also write the result here")
    args = p.parse_args(argv)
    from morphlib.config import PRESET_SETTINGS, AnalysisSettings
    from morphlib.data.dataset import load_folder
    from morphlib.data.synth import synth_drums
    from morphlib.training.trainer import train

    work = args.work or tempfile.mkdtemp(prefix="morphlib-latency-")
    n_loops, moves = (8, 3) if args.quick else (args.loops, args.moves)
    preset = "tiny" if args.quick else args.preset
    loops_dir, cache, model_dir = (os.path.join(work, d) for d in ("loops", "cache", f"model-{preset}"))
    synth_drums(loops_dir, n=n_loops, progress=False)
    settings = AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16) if args.quick \
        else AnalysisSettings(**PRESET_SETTINGS.get(preset, {}))  # studio44: 44.1 kHz
    loops = load_folder(loops_dir, settings, progress=False, cache=cache)
    if not os.path.exists(os.path.join(model_dir, "model.keras")):
        train(loops, model_dir, epochs=1, preset=preset, progress=False, verbose=False)
    runs = {"morphlib": run(ROOT, loops_dir, model_dir, cache, os.path.join(work, "exports"), moves)}
    if args.before:
        old = morphlib_at(args.before, os.path.join(work, "before"))
        runs[f"before ({args.before})"] = run(old, loops_dir, model_dir, cache, os.path.join(work, "exports-before"), moves)
    result = {"preset": preset, "loops": n_loops, "moves": moves, "cpu": cpu_description(), "runs": {}}
    print(f"{result['preset']} preset, {n_loops} loops, {moves} moves each, on {result['cpu']}: "
          "ms from a move to a morph ready to send (a draft), and to the full-quality one once the hand rests")
    for name, kinds in runs.items():
        parts = kinds.pop("parts", None)
        for kind, ms in kinds.items():
            med, worst = float(np.median(ms["ready"])), float(np.max(ms["ready"]))
            met = med <= TARGET_MEDIAN_MS and worst <= TARGET_WORST_MS
            result["runs"][f"{name} {kind}"] = {"median_ms": med, "worst_ms": worst, "ms": ms["ready"], "target_met": met,
                                                 "full_median_ms": float(np.median(ms["full"]))}
            print(f"  {name:22} {kind:6} ready median {med:6.1f}  worst {worst:6.1f}  "
                  f"(target {TARGET_MEDIAN_MS:.0f} / {TARGET_WORST_MS:.0f}: {'met' if met else 'missed'});  "
                  f"full quality {float(np.median(ms['full'])):6.1f}")
        if parts:
            result["runs"][f"{name} parts"] = parts
            print(f"  {name:22} a draft's parts: " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    report(result, args.json)


if __name__ == "__main__":
    main()
