"""Stereo, seams, tempo, the stretcher and exports (issue 40) in one run, each figure beside
the one docs/ gives for it and its target.

    python benchmarks/stereo_seams_tempo.py                  # everything: about 45 minutes on 2 cores
    python benchmarks/stereo_seams_tempo.py --work W --resume # after an interruption: the parts done are read back
    python benchmarks/stereo_seams_tempo.py --only seams tempo
    python benchmarks/stereo_seams_tempo.py --quick          # minutes: checks that it runs (figures meaningless)

It runs the benchmarks that measure each part, one after the other, each in its own process
and with the options its table in docs/ names, and reads their JSON:

- ``stereo.py`` on FluidR3 GM's kits in rooms (studio44, 74 loops, 500 epochs), and on
  TimGM6mb's kits kept aside at mixed tempos (40 loops, 300 epochs): docs/sound.md, Stereo;
- ``panel_latency.py --preset studio44``: the panel's render, stereo demo loops;
- ``sound.py`` with the studio preset on three corpora, FluidR3 (chosen on), TimGM6mb (seen)
  and AVL (kept aside): the seams at each band edge, of the morphs as the model plays them,
  of the same without their ends' floors (``--hits bands``, the library before
  ``keep_floors``), of the decoded ends blended in dB bin by bin (``--hits ends``: a morph
  with no band edge) and of the decoder's own morphs;
- ``tempo.py --tempo-only`` on the three kit sets' mixed, fast and 1-bar corpora, draws 13
  and 14; ``tempo.py --quick``: the stretchers;
- ``python -m morphlib morph --export-sr`` from the FluidR3 studio model (22,050 Hz) at 44.1
  and 48 kHz: the files' rate and length.

Prints one table (part, figure, target, docs' figure, today's, met) and writes one JSON
object; the CPU is named with the flags that matter. Nothing runs beside it.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from common import cpu_description  # noqa: E402

#: Where each figure of docs/ comes from: its page and date. The "docs" column below is
#: these figures, copied from those tables.
DOCS_DATE = "2026-12-06 (stereo, the panel, the seams) and 2026-12-05 (the rest)"
DOCUMENTED = {
    "stereo fluidr3 lsd": 2.31, "stereo fluidr3 width": 0.58, "stereo fluidr3 correlation": 0.018,
    "stereo fluidr3 mid width": 0.41, "stereo fluidr3 model": 36.8, "stereo fluidr3 checkpoint": 82.1,
    "stereo fluidr3 images": 34.6, "stereo fluidr3 training": 1.00,
    "stereo timgm6mb lsd": 1.79, "stereo timgm6mb width": 0.79, "stereo timgm6mb correlation": 0.015,
    "stereo timgm6mb mid width": 1.22, "stereo timgm6mb model": 36.8, "stereo timgm6mb checkpoint": 82.1,
    "stereo timgm6mb images": 18.7, "stereo timgm6mb training": 1.13,
    "panel ready": 82.0,
    "seams fluidr3 low": 0.04, "seams fluidr3 high": 0.02, "seams fluidr3 sharpness": 1.04,
    "seams timgm6mb low": 0.03, "seams timgm6mb high": 0.07, "seams timgm6mb sharpness": 1.10,
    "seams avl low": 0.03, "seams avl high": 0.02, "seams avl sharpness": 1.19,
    "tempo mixed": 98.8, "tempo fast": 96.3, "tempo slow1": 97.5,
    "stretcher onset": 0.974, "stretcher lsd": 6.90,
}
#: The seam corpora: kit set, draw, loops and fit, as docs/sound.md's commands.
SEAM_CORPORA = {"fluidr3": [], "timgm6mb": ["--kits", "timgm6mb", "--seed", "5", "--loops", "40", "--fit", "stretch"],
                "avl": ["--kits", "avl", "--seed", "7", "--loops", "40", "--fit", "stretch"]}
KEPT_ASIDE_TEMPO = ("timgm6mb", "avl")
PARTS = ("stereo", "panel", "seams", "tempo", "stretchers", "exports")


def stages(work, quick):
    """(part, name, argv of a benchmark script, where its JSON lands) of each run, in order."""
    q = ["--quick"] if quick else []
    out = [("stereo", "stereo fluidr3", ["stereo.py", *q], "stereo-fluidr3.json"),
           ("stereo", "stereo timgm6mb", ["stereo.py", *q, "--kits", "timgm6mb", "--seed", "5", "--loops", "40", "--epochs", "300"],
            "stereo-timgm6mb.json"),
           ("panel", "panel", ["panel_latency.py", *q, "--preset", "studio44"], "panel.json")]
    for kits, extra in SEAM_CORPORA.items():
        out.append(("seams", f"seams {kits}", ["sound.py", *q, "--corpus", "gm", "--presets", "studio", "--hits", "model", "bands",
                                               "ends", "decoder", *extra], f"seams-{kits}.json"))
    tempo = ["--n", "6"] if quick else []
    out.append(("tempo", "tempo", ["tempo.py", "--tempo-only", *tempo, "--kits", "fluidr3", *KEPT_ASIDE_TEMPO, "--corpora",
                                   "mixed", "fast", "slow1", "--seeds", "13", *([] if quick else ["14"])], "tempo/tempo.json"))
    out.append(("stretchers", "stretchers", ["tempo.py", "--quick", *tempo], "stretchers/tempo.json"))
    return out


def run_stage(name, argv, json_name, work, *, resume=False):
    """One benchmark in its own process, its output in ``work/NAME.log``; its JSON, or None
    (the log's last lines printed) when it failed. With ``resume``, a JSON already there
    (a part that finished before an interruption) is read back instead."""
    script, *args = argv
    folder = os.path.join(work, os.path.dirname(json_name) or name.replace(" ", "-"))
    path = os.path.join(work, json_name)
    if resume and os.path.exists(path):
        print(f"{name}: read back from {path}", flush=True)
        with open(path) as f:
            return json.load(f)
    if not json_name.endswith("tempo.json"):  # tempo.py writes its own, tempo.json in its --work
        args += ["--json", path]
    log = os.path.join(work, name.replace(" ", "-") + ".log")
    t = time.perf_counter()
    print(f"{name}: python benchmarks/{script} {' '.join(args)}", flush=True)
    with open(log, "w") as f:
        code = subprocess.run([sys.executable, os.path.join(HERE, script), *args, "--work", folder], stdout=f,
                              stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": ROOT}).returncode
    print(f"{name}: {'done' if code == 0 else f'FAILED ({code})'} in {time.perf_counter() - t:.0f} s; its output: {log}", flush=True)
    if code != 0:
        with open(log) as f:
            print("".join(f.readlines()[-15:]), file=sys.stderr)
        return None
    with open(path) as f:
        return json.load(f)


def exports(work):
    """Morphs of the FluidR3 seam run's studio model (22,050 Hz) written at 44.1 and 48 kHz
    through the command line: each file's rate, length and channels (both as long: the
    window's seconds, whatever the rate)."""
    import soundfile as sf

    model_dir = sorted(glob.glob(os.path.join(work, "seams-fluidr3", "models", "*")))[-1]
    with open(os.path.join(model_dir, "latents.json")) as f:
        a, b = list(json.load(f)["latents"])[:2]
    out = {}
    for sr in (44100, 48000):
        path = os.path.join(work, "exports", f"morph-{sr}.wav")
        subprocess.run([sys.executable, "-m", "morphlib", "morph", "--model", model_dir, a, b, "--alpha", "0.5", "--export-sr",
                        str(sr), "--out", path, "--overwrite"], check=True, capture_output=True, env={**os.environ, "PYTHONPATH": ROOT})
        info = sf.info(path)
        out[str(sr)] = {"samplerate": info.samplerate, "seconds": info.frames / info.samplerate, "channels": info.channels}
    return out


def seam_edges_hz(results_row):
    """The band edges (Hz) that ``seam_excess_db_by_edge_max`` lists, lowest first."""
    from morphlib.config import settings_for
    from morphlib.sound.hits import measured_edges

    s = settings_for("studio")
    return [e * results_row["sr"] / s.n_fft for e in measured_edges(s.n_bins)]


def row(part, figure, target, key, today, met, beside=""):
    """One line of the table: ``key`` names the figure in ``DOCUMENTED``; ``met`` None where
    the figure has no target of its own."""
    return {"part": part, "figure": figure, "target": target, "docs": DOCUMENTED.get(key), "today": today, "met": met,
            "beside": beside}


def stereo_rows(results):
    out = []
    for kits, label in (("fluidr3", "FluidR3 in rooms"), ("timgm6mb", "TimGM6mb in rooms, kept aside")):
        r = results.get(f"stereo {kits}")
        if r is None:
            continue
        s, k = r["summary"], f"stereo {kits}"
        part = f"1 stereo, {label}"
        floor = f"; the model's mid against the original's mid {s['mid_lsd_db']:.2f}" if "mid_lsd_db" in s else ""
        out += [row(part, "audible LSD per channel, dB", "<= 2.5", f"{k} lsd", s["stereo_lsd_db"], s["stereo_lsd_db"] <= 2.5,
                    f"mono {s['mono_lsd_db']:.2f}; the original's mid with its image {s['image_alone_lsd_db']:.2f}{floor}"),
                row(part, "side-to-mid, median abs. error, dB", "<= 1.5", f"{k} width", s["stereo_width_error_db"],
                    s["stereo_width_error_db"] <= 1.5),
                row(part, "channel correlation, median abs. error", "<= 0.05", f"{k} correlation", s["stereo_correlation_error"],
                    s["stereo_correlation_error"] <= 0.05, f"mono {s['mono_correlation_error']:.3f}"),
                row(part, "mid-morphs' side-to-mid against their ends', median abs. error, dB", "<= 1.5", f"{k} mid width",
                    s["mid_width_error_db"], s["mid_width_error_db"] <= 1.5, f"largest {s['mid_width_error_db_max']:.2f}"),
                row(part, "model file, MB", "<= 60", f"{k} model", s["model_mb"], s["model_mb"] <= 60),
                row(part, "checkpoint, MB", "<= 120", f"{k} checkpoint", s["checkpoint_mb"], s["checkpoint_mb"] <= 120),
                *([row(part, "the loops' images (stereo.npz, beside the model file), MB", "", f"{k} images", s["images_mb"], None,
                       f"{s['images_mb'] / r['n_loops']:.2f} MB a loop")] if "images_mb" in s else []),
                row(part, "training, stereo over mono", "<= 1.5x", f"{k} training", s["train_ratio"], s["train_ratio"] <= 1.5,
                    f"its epochs {s['epochs_ratio']:.2f}x")]
    panel = (results.get("panel") or {}).get("runs", {}).get("morphlib alpha")
    if panel:
        out.append(row("1 stereo, the panel (studio44, demo loops)", "a move to its morph ready, median ms", "<= 100",
                       "panel ready", panel["median_ms"], panel["median_ms"] <= 100,
                       f"worst {panel['worst_ms']:.0f}; full quality {panel['full_median_ms']:.0f}"))
    return out


def seam_rows(results):
    out = []
    for kits in SEAM_CORPORA:
        r = results.get(f"seams {kits}")
        if r is None:
            continue
        played, ends, decoder = r["gm studio"], r["gm studio ~ends hits"], r["gm studio ~decoder hits"]
        bands = r.get("gm studio ~bands hits")  # the hits kept in bands without the ends' floors: before keep_floors
        hz = seam_edges_hz(played)

        def largest(res, low):
            steps = [v for v, f in zip(res["vae seam_excess_db_by_edge_max"], hz) if (f < 500) == low]
            return max(steps) if steps else None

        part = f"2 seams, {kits}" + (" (kept aside)" if kits == "avl" else "")
        for low, name in ((True, "under 500 Hz"), (False, "818 Hz and up")):
            today = largest(played, low)
            out.append(row(part, f"largest step beyond the ends', {name}, dB", "<= +1", f"seams {kits} {'low' if low else 'high'}",
                           today, today <= 1.0, (f"without the floors {largest(bands, low):+.1f}; " if bands else "")
                           + f"no band edge (ends bin by bin) {largest(ends, low):+.1f}; the decoder's "
                           f"own {largest(decoder, low):+.1f}; crossfade "
                           f"{max(v for v, f in zip(played['crossfade seam_excess_db_by_edge_max'], hz) if (f < 500) == low):+.1f}"))
        sharp = [played[f"vae sharpness_{a}_mean"] for a in ("0.25", "0.5", "0.75")]
        above = all(played[f"vae sharpness_{a}_mean"] > played[f"crossfade sharpness_{a}_mean"] for a in ("0.25", "0.5", "0.75"))
        out.append(row(part, "mid-morph sharpness at α = .5 (ends = 1)", ">= 0.85, above the crossfade", f"seams {kits} sharpness",
                       sharp[1], sharp[1] >= 0.85 and above,
                       "α = .25 / .5 / .75: " + " / ".join(f"{v:.2f}" for v in sharp) + ", crossfade "
                       + " / ".join(f"{played[f'crossfade sharpness_{a}_mean']:.2f}" for a in ("0.25", "0.5", "0.75"))))
    return out


def tempo_rows(results):
    out = []
    found = (results.get("tempo") or {}).get("tempo_found")
    if found:
        for corpus, name in (("mixed", "mixed 90-175 BPM"), ("fast", "breaks 160-180 BPM"), ("slow1", "1 bar, 88-112 BPM")):
            def share(kit_sets, kind="unnamed"):
                cells = [v[kind] for k, v in found.items() if k.split()[0] in kit_sets and k.split()[1] == corpus]
                return 100 * sum(c["found"] for c in cells) / max(1, sum(c["files"] for c in cells))

            today = share(KEPT_ASIDE_TEMPO)
            out.append(row("3 tempo", f"unnamed files within ±2 %, kits kept aside, {name}, %", ">= 95", f"tempo {corpus}", today,
                           today >= 95, f"FluidR3 (tuned on) {share(('fluidr3',)):.1f}; named, all kits "
                           f"{share(('fluidr3', *KEPT_ASIDE_TEMPO), 'named'):.1f}"))
    st = results.get("stretchers")
    if st:
        used = st["stretchers"]["Signalsmith Stretch (python-stretch; used)"]
        pv = st["stretchers"]["librosa phase vocoder"]
        out += [row("4 stretcher", f"onset correlation, the stretcher from pip ({st['stretcher']})", "the percussive one, from pip",
                    "stretcher onset", used["onset_corr"], st["stretcher"] == "signalsmith" and used["onset_corr"] > pv["onset_corr"],
                    f"phase vocoder {pv['onset_corr']:.3f}"),
                row("4 stretcher", "audible LSD against the real render, dB", "", "stretcher lsd", used["lsd_db"], None,
                    f"phase vocoder {pv['lsd_db']:.2f}")]
    ex = results.get("exports")
    if ex:
        seconds = [v["seconds"] for v in ex.values()]
        for sr, v in ex.items():
            out.append(row("5 exports", f"a 22,050 Hz model's morph at --export-sr {sr}: the file's rate, Hz", sr, "", v["samplerate"],
                           v["samplerate"] == int(sr) and max(seconds) - min(seconds) < 1e-3,
                           f"{v['seconds']:.3f} s, {v['channels']} channel(s)"))
    return out


def table(results):
    """Every row of the run, part by part."""
    return stereo_rows(results) + seam_rows(results) + tempo_rows(results)


def _fmt(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if isinstance(v, float) and abs(v) < 1 else f"{v:.2f}" if isinstance(v, float) else str(v)


def print_table(rows, cpu):
    print(f"\nIssue 40 in one run, {time.strftime('%Y-%m-%d')} ({cpu}); docs: figures of {DOCS_DATE}")
    print("| part | figure | target | docs | today | met | beside it today |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        met = "" if r["met"] is None else "met" if r["met"] else "**not met**"
        docs = "—" if r["docs"] is None else f"{r['docs']:g}"  # as the page gives it
        print(f"| {r['part']} | {r['figure']} | {r['target']} | {docs} | {_fmt(r['today'])} | {met} | {r['beside']} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="run these parts only")
    p.add_argument("--quick", action="store_true", help="every benchmark's quick mode: checks that it runs")
    p.add_argument("--work", help="where the corpora, models and logs go (default: a temporary folder)")
    p.add_argument("--resume", action="store_true", help="read back the parts a run in --work finished, run the rest")
    p.add_argument("--json")
    args = p.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="morphlib-issue40-")
    os.makedirs(work, exist_ok=True)
    results = {}
    for part, name, argv_, json_name in stages(work, args.quick):
        if part in args.only:
            results[name] = run_stage(name, argv_, json_name, work, resume=args.resume)
    if "exports" in args.only and results.get("seams fluidr3") is not None:
        results["exports"] = exports(work)
    rows = table({k: v for k, v in results.items() if v is not None})
    cpu = cpu_description()
    print_table(rows, cpu)
    failed = [k for k, v in results.items() if v is None]
    if failed:
        print(f"FAILED: {', '.join(failed)} (their logs are in {work})")
    report = {"cpu": cpu, "date": time.strftime("%Y-%m-%d"), "rows": rows, "failed": failed}
    print(json.dumps(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
