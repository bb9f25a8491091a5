"""``python -m morphlib``: demo, synth-drums, train, evaluate, morph, sweep."""

import argparse
import json
import os
import sys

from . import __version__
from .errors import MorphlibError, ParameterError

DEMO_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The demo's training budget in minutes (with --fast): what it buys is in the README.
DEMO_MINUTES, DEMO_MINUTES_FAST = 4.0, 0.5
#: Pairs of loops whose morphs the demo measures (with --fast: as notebooks/03 in fast mode;
#: each pair is 10 Griffin-Lim renders, most of a quick demo's time at 20).
DEMO_MORPH_PAIRS, DEMO_MORPH_PAIRS_FAST = 20, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_number(text):
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _recipe(text):
    from .model.recipes import get_recipe

    try:
        return get_recipe(text).name
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seed(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _alpha(text):
    from .model.morphmodel import check_alpha

    try:
        return check_alpha(text)
    except MorphlibError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_analysis(p):
    g = p.add_argument_group("analysis settings (default: the model's own, else the tutorial's)")
    g.add_argument("--sr", type=_positive_int, help="sample rate in Hz (22050; studio44: 44100); without --n-fft and "
                   "--hop-length the time grid follows it (4096 / 1024 at 44.1 and 48 kHz)")
    g.add_argument("--n-fft", type=_positive_int, help="FFT and window size (2048; studio44: 4096)")
    g.add_argument("--hop-length", type=_positive_int, help="hop in samples (512; studio44: 1024)")
    g.add_argument("--n-frames", type=_positive_int, help="frames per loop (148 = 3.41 s)")
    g.add_argument("--fit", choices=("crop", "stretch"),
                   help="how a loop becomes the window's length: stretch (default for a new model of any preset but "
                        "the tutorial's: its tempo is found and its whole bars are time-stretched to fill the window) "
                        "or crop (the tutorial's: cut or padded with silence at the end)")


def _bpm(text):
    value = _positive_number(text)
    if not 20 <= value <= 400:
        raise argparse.ArgumentTypeError(f"expected a tempo between 20 and 400 BPM, got {text!r}")
    return value


def _add_tempo(p):
    p.add_argument("--bpm", type=_bpm, help="write at this tempo: the loop stretched to whole bars at BPM (the file name "
                                            "says the tempo and the bars)")
    p.add_argument("--bars", type=_positive_int, help="with --bpm: bars per loop (default: the bars the loops were "
                                                      "fitted to, else the nearest power of two)")


def _add_training_schedule(p):
    p.add_argument("--recipe", type=_recipe, help="how to train: onecycle (default for a new folder: the tutorial's quality in a fraction "
                                    "of the time) or tutorial (Adam 1e-3, batch 16, float32, 500 epochs, exact)")
    p.add_argument("--strategy", choices=("auto", "default", "mirrored", "tpu", "multiworker"), default="auto",
                   help="devices: auto (a Colab TPU, several GPUs mirrored, else one device), default, mirrored, tpu, "
                        "multiworker (reads TF_CONFIG); MORPHLIB_CPU_DEVICES=N splits the CPU into N devices")
    p.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"),
                   help="the layers' arithmetic (default the recipe's: auto = bfloat16 on CPUs that have it, float16 on GPUs)")
    p.add_argument("--checkpoint-every", type=_positive_number, default=120.0, metavar="SECONDS",
                   help="seconds between checkpoints into the model folder (120); a kill costs at most this much training")
    p.add_argument("--max-minutes", type=_positive_number, metavar="M",
                   help="a time budget: the schedule runs over M minutes of training and ends at its floor when they are "
                        "up (a run cut short resumes on the same clock; a larger M later trains the difference)")


def _add_model_and_ends(p):
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--data", metavar="DATA_DIR", help="look A and B up in this folder")


def _add_export_sr(p):
    p.add_argument("--export-sr", type=_positive_int, metavar="HZ",
                   help="write the files at this sample rate (e.g. 44100 or 48000, your project's), resampled with soxr; "
                        "default the model's")


def _add_keep_hits(p):
    p.add_argument("--keep-hits", action=argparse.BooleanOptionalAction, default=None,
                   help="give mid-morphs the band envelopes of their ends blended in dB, so that they keep their hits "
                        "(default: the model's preset's choice; on for studio and studio44)")


def _add_mono(p, what):
    p.add_argument("--mono", action="store_true",
                   help=f"hear stereo loops in mono, as their mid (L + R) / 2: {what}")


def _add_phase(p):
    p.add_argument("--phase", choices=("random", "pghi"), default="random",
                   help="Griffin-Lim's start: random (the tutorial's) or pghi (phase-gradient integration: "
                        "16 iterations from it are as consistent as 32 from random)")


def _schedule(args):
    return {"checkpoint_every": args.checkpoint_every, "max_minutes": args.max_minutes, "recipe": args.recipe,
            "precision": args.precision, "strategy": args.strategy}


def build_parser():
    parser = _Parser(prog="python -m morphlib", description="Morph drum loops with a convolutional VAE.")
    parser.add_argument("--version", action="version", version=f"morphlib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_demo_command(sub)
    _add_synth_drums_command(sub)
    _add_train_command(sub)
    _add_evaluate_command(sub)
    _add_morph_command(sub)
    _add_sweep_command(sub)
    _add_export_html_command(sub)
    return parser


def _add_demo_command(sub):
    p = sub.add_parser("demo", help="demo loops → train → evaluate → morph WAVs and a PNG", description=(
        "Make demo loops, train the studio preset on them (the tutorial's with --preset tutorial, a small one with --fast) "
        f"on a budget of {DEMO_MINUTES:g} minutes ({DEMO_MINUTES_FAST:g} with --fast; --max-minutes to change it, --epochs to train "
        "by epochs instead), evaluate, and write morphs at alpha 0, .25, .5, .75, 1 plus a spectrogram PNG into OUT. "
        "Running it again resumes training."))
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--fast", action="store_true", help="small and quick (also on when MORPHLIB_FAST=1)")
    p.add_argument("--preset", choices=("tutorial", "studio", "studio44"), help="the model to train (default studio, which keeps hats and transients; "
                   "studio44: the same at 44.1 kHz, with the air above 11 kHz; tutorial: the tutorial's model exactly)")
    p.add_argument("--epochs", type=_positive_int, help="epochs (default: the preset's)")
    p.add_argument("--seed", type=_seed, default=0)
    _add_training_schedule(p)
    _add_export_sr(p)


def _add_synth_drums_command(sub):
    p = sub.add_parser("synth-drums", help="write synthetic techno drum loops", description="Write N synthetic drum loops (2 bars at 140 BPM, 44.1 kHz stereo WAV). The same seed gives the same files; existing files are kept.")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--n", type=_positive_int, default=74, help="number of loops (74)")
    p.add_argument("--seed", type=_seed, default=0)


def _add_train_command(sub):
    p = sub.add_parser("train", help="train (or resume training) a model", description="Train a VAE on every audio file below DATA_DIR into MODEL_DIR. Running the same command again resumes from the last finished epoch. "
                       "When DATA_DIR holds loops that a trained model in MODEL_DIR has not heard, they are added in a short run of its own "
                       "(--max-minutes, default 1; the model before is kept in MODEL_DIR/before-add-N).")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    p.add_argument("--epochs", type=_positive_int, help="total epochs, counting those done (default: the preset's; tutorial 500)")
    p.add_argument("--preset", help="tutorial (default: the tutorial's model exactly), studio (keeps hats and transients), "
                   "studio44 (the same at 44.1 kHz: the air above 11 kHz too), fast or tiny")
    p.add_argument("--seed", type=_seed, default=0)
    _add_mono(p, "the model folder keeps no stereo images, so its morphs by name are one channel")
    _add_training_schedule(p)
    _add_analysis(p)


def _add_evaluate_command(sub):
    p = sub.add_parser("evaluate", help="reconstruction figures of a model on a folder", description="MSE, per-file cosine similarity, spectral convergence and log-spectral distance of MODEL_DIR's model on DATA_DIR.")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-audio", action="store_true", help="skip the audio-domain figures (resynthesis of every loop)")
    p.add_argument("--morph-pairs", type=_seed, default=20, metavar="N",
                   help="pairs of loops whose morphs (and crossfades) are measured: mid-morph sharpness, layered hits, "
                        "smoothness, intermediateness (20; 0 skips them)")
    p.add_argument("--n-iter", type=_positive_int, default=32, help="Griffin-Lim iterations for the audio figures (32)")
    _add_phase(p)
    _add_keep_hits(p)


def _add_morph_command(sub):
    p = sub.add_parser("morph", help="morph sound A into sound B", description=(
        "Blend the latent vectors of A and B (z = (1 - alpha) z_A + alpha z_B: alpha 0 is A, 1 is B), decode, "
        "and write WAV files. A and B are audio files, names of the loops the model was trained on, or names in --data."))
    _add_model_and_ends(p)
    p.add_argument("--alpha", type=_alpha, nargs="+", default=[0.5], metavar="X", help="one or more values in [0, 1]")
    p.add_argument("--out", required=True, help="a .wav file for one alpha, a folder for several")
    p.add_argument("--method", choices=("linear", "spherical"), default="linear")
    p.add_argument("--n-iter", type=_positive_int, default=32, help="Griffin-Lim iterations (32)")
    _add_phase(p)
    _add_keep_hits(p)
    p.add_argument("--seed", type=_seed, default=0, help="Griffin-Lim's initial phase")
    p.add_argument("--crossfade", action="store_true", help="also write the naive magnitude crossfade, for comparison")
    _add_mono(p, "one-channel files")
    _add_tempo(p)
    _add_export_sr(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing files")


def _add_sweep_command(sub):
    p = sub.add_parser("sweep", help="morph over several loops as alpha follows a curve", description=(
        "Write one WAV in which the morph moves while it plays: with two sounds, alpha follows --curve across "
        "--loops loop lengths (frame by frame, one continuous phase); with four (the XY pad's corners a, b, c, d "
        "at (0,0), (1,0), (0,1), (1,1)), the point follows --path."))
    p.add_argument("--model", required=True, metavar="MODEL_DIR")
    p.add_argument("sounds", nargs="+", metavar="SOUND", help="A B, or the pad's four corners A B C D")
    p.add_argument("--loops", type=_positive_int, default=None, help="length in loops (4; with --path, its last loop)")
    p.add_argument("--curve", default="ramp", help="ramp (default), ramp-down, triangle, lfo:PERIOD_IN_LOOPS, or 'loop:alpha,...' e.g. '0:0,2:1,4:0'")
    p.add_argument("--path", help="with four sounds: 'loop:x/y,...', e.g. '0:0/0,1:1/0,2:1/1,3:0/1,4:0/0'")
    p.add_argument("--out", required=True, help="the .wav file to write")
    p.add_argument("--data", metavar="DATA_DIR", help="look the sounds up in this folder")
    p.add_argument("--method", choices=("linear", "spherical"), default="linear")
    p.add_argument("--n-iter", type=_positive_int, default=32, help="Griffin-Lim iterations (32)")
    _add_phase(p)
    _add_keep_hits(p)
    p.add_argument("--seed", type=_seed, default=0)
    _add_mono(p, "a one-channel file")
    _add_tempo(p)
    _add_export_sr(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")


def _add_export_html_command(sub):
    p = sub.add_parser("export-html", help="the morph from A to B as one HTML page that plays in any browser", description=(
        "Render the path from A to B at --steps values of alpha and write it, with a player, into one self-contained "
        "HTML file: open it in any modern browser (no Python, no network) and drag alpha while it plays."))
    _add_model_and_ends(p)
    p.add_argument("--out", required=True, help="the .html file to write")
    p.add_argument("--steps", type=_positive_int, default=33, help="values of alpha from 0 to 1 (33)")
    p.add_argument("--n-iter", type=_positive_int, default=32, help="Griffin-Lim iterations of each step (32)")
    _add_keep_hits(p)
    _add_mono(p, "a one-channel page")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args) or 0
    except (MorphlibError, FileExistsError) as exc:
        print(f"morphlib: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("morphlib: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _settings(args, model_dir=None, preset=None):
    """The model folder's analysis settings, else a new model's for ``preset``; flags win."""
    from .model.folder import settings_for_folder

    given = {k: getattr(args, k, None) for k in ("sr", "n_fft", "hop_length", "n_frames", "fit")}
    return settings_for_folder(model_dir, preset, **given)


def cmd_synth_drums(args):
    from .data.synth import synth_drums

    paths = synth_drums(args.out_dir, n=args.n, seed=args.seed)
    print(f"{len(paths)} loops in {args.out_dir}")


def cmd_train(args):
    from .data.dataset import load_folder
    from .training.trainer import train

    loops = load_folder(args.data_dir, _settings(args, args.model, args.preset), mono=args.mono)
    _print_load_report(loops)
    model = train(loops, args.model, epochs=args.epochs, preset=args.preset, seed=args.seed, **_schedule(args))
    if getattr(model, "unreachable", False):
        return 75  # EX_TEMPFAIL: the folder went away; the same command resumes once it is back
    return 130 if getattr(model, "interrupted", False) else 0


def _print_load_report(loops, file=sys.stdout):
    print(loops.summary(), file=file)
    for s in loops.skipped:
        print(f"  skipped {s.name}: {s.reason}", file=file)


def cmd_evaluate(args):
    from .data.dataset import load_folder
    from .morphing.evaluation import evaluate
    from .model.morphmodel import load_model

    model = load_model(args.model)
    loops = load_folder(args.data_dir, model.settings, progress=not args.json)
    ev = evaluate(model, loops, audio=not args.no_audio, morph_pairs=args.morph_pairs, n_iter=args.n_iter, phase=args.phase,
                  keep_hits=args.keep_hits, progress=not args.json)
    if args.json:
        print(json.dumps(ev.to_dict(loops), ensure_ascii=False))
        return
    from .data.dataset import format_table

    _print_load_report(loops)
    shown = ("name", "cosine", "lsd_db", "audio_lsd_db", "hf_db", "onset_corr", "zero_bins")
    print(format_table([{k: (f"{f[k]:.4f}" if isinstance(f[k], float) else f[k]) for k in shown if k in f} for f in ev.sorted_files()]))
    print(f"{model.n_params:,} parameters; {ev.summary()}")


def _morph_paths(out, morphs):
    if len(morphs) == 1 and out.lower().endswith(".wav"):
        return [out]
    if out.lower().endswith(".wav"):
        raise MorphlibError(f"--out {out} is a .wav file, but {len(morphs)} morphs were asked for; give a folder")
    return [os.path.join(out, m.filename()) for m in morphs]


def _model_and_loops(args):
    """The model in ``--model``, and the loops of ``--data`` analysed with its settings (None without it)."""
    from .model.morphmodel import load_model

    model = load_model(args.model, mono=args.mono)
    if not args.data:
        return model, None
    from .data.dataset import load_folder

    return model, load_folder(args.data, model.settings, mono=args.mono)


def cmd_morph(args):
    from .sound.audio import write_wav
    from .morphing.morphs import crossfade, morph

    model, loops = _model_and_loops(args)
    morphs = morph(model, args.a, args.b, args.alpha, loops=loops, method=args.method, n_iter=args.n_iter, seed=args.seed,
                   phase=args.phase, bpm=args.bpm, bars=args.bars, keep_hits=args.keep_hits)
    if args.crossfade:
        if loops is None:
            raise MorphlibError("--crossfade needs the sounds' spectrograms: pass --data DATA_DIR")
        fades = crossfade(loops, args.a, args.b, args.alpha, n_iter=args.n_iter, seed=args.seed)
        if args.bpm is not None:
            from .morphing.morphs import at_tempo

            bars = args.bars or (morphs[0].bars if morphs else None)
            fades = [at_tempo(f, args.bpm, window_s=model.settings.duration, bars=bars) for f in fades]
        morphs += fades
    paths = _morph_paths(args.out, morphs)
    clash = [p for p in paths if os.path.exists(p)]
    if clash and not args.overwrite:
        raise FileExistsError(f"{clash[0]} already exists; pass --overwrite to replace it, or choose another --out")
    for m, path in zip(morphs, paths):
        write_wav(path, m.y, sr=m.sr, overwrite=args.overwrite, export_sr=args.export_sr)
        print(path)


def cmd_sweep(args):
    from .sound.audio import write_wav
    from .morphing.sweeps import sweep, sweep_xy

    if len(args.sounds) not in (2, 4):
        raise MorphlibError(f"sweep takes two sounds (A B) or four (the pad's corners), got {len(args.sounds)}: {args.sounds}")
    if not args.out.lower().endswith(".wav"):
        raise MorphlibError(f"--out {args.out} must be a .wav file")
    if os.path.exists(args.out) and not args.overwrite:
        raise FileExistsError(f"{args.out} already exists; pass --overwrite to replace it, or choose another --out")
    model, loops = _model_and_loops(args)
    common = dict(loops=loops, n_iter=args.n_iter, seed=args.seed, phase=args.phase, bpm=args.bpm, bars=args.bars,
                  keep_hits=args.keep_hits)
    if len(args.sounds) == 4:
        if not args.path:
            raise MorphlibError("four sounds make an XY pad: give its --path, e.g. '0:0/0,2:1/1'")
        m = sweep_xy(model, args.sounds, args.path, n_loops=args.loops, **common)
    else:
        if args.path:
            raise MorphlibError("--path is for the XY pad: give four sounds, or use --curve with two")
        m = sweep(model, *args.sounds, curve=args.curve, n_loops=args.loops or 4, method=args.method, **common)
    print(write_wav(args.out, m.y, sr=m.sr, overwrite=args.overwrite, export_sr=args.export_sr))


def demo_model(model_dir, preset=None, *, fast=False):
    """The demo's preset and model folder: studio by default, small in fast mode; the
    studio model goes beside the tutorial's (``model_studio``), so that both can be
    heard and neither resumes the other."""
    preset = "fast" if fast else (preset or "studio")
    return preset, model_dir + f"_{preset}" if preset.startswith("studio") else model_dir


def cmd_demo(args):
    import numpy as np

    from .sound.audio import unique_path, write_wav
    from .config import fast_mode
    from .data.dataset import load_folder
    from .morphing.evaluation import evaluate
    from .files import atomic_write_text
    from .model.folder import META
    from .morphing.morphs import crossfade, morph
    from .ui.plots import plot_strip
    from .data.synth import synth_drums
    from .training.trainer import train

    fast = args.fast or fast_mode()
    out = args.out
    loops_dir, model_dir, morph_dir = (os.path.join(out, d) for d in ("loops", "model", "morphs"))
    synth_drums(loops_dir, n=16 if fast else 74, seed=args.seed)
    preset, model_dir = demo_model(model_dir, args.preset, fast=fast)
    loops = load_folder(loops_dir, _settings(args, model_dir, preset))
    _print_load_report(loops)
    schedule = _schedule(args)
    if args.epochs is None and schedule["max_minutes"] is None:  # a newcomer waits this long on any CPU
        schedule["max_minutes"] = DEMO_MINUTES_FAST if fast else DEMO_MINUTES
    if args.preset is None and os.path.exists(os.path.join(model_dir, META)):
        preset = None  # a demo made before: resumed as it was made, even where a later version redefined the preset
    model = train(loops, model_dir, epochs=args.epochs, preset=preset, seed=args.seed, **schedule)
    if getattr(model, "interrupted", False) or getattr(model, "timed_out", False) or getattr(model, "unreachable", False):
        return 130
    ev = evaluate(model, loops, morph_pairs=DEMO_MORPH_PAIRS_FAST if fast else DEMO_MORPH_PAIRS)
    atomic_write_text(os.path.join(out, "evaluation.json"), json.dumps(ev.to_dict(loops), indent=2, ensure_ascii=False))
    print(f"{model.n_params:,} parameters; {ev.summary()}")

    z = model.encode(loops.S)
    a = 0
    b = int(np.argmax(np.linalg.norm(z - z[a], axis=1)))  # the loop furthest from A: the most audible morph
    morphs = morph(model, a, b, list(DEMO_ALPHAS), loops=loops)
    baseline = crossfade(loops, a, b, 0.5)
    for m in [*morphs, baseline]:
        print(write_wav(unique_path(os.path.join(morph_dir, m.filename())), m.y, sr=m.sr, export_sr=args.export_sr))

    import matplotlib

    matplotlib.use("Agg")
    axes = plot_strip(morphs, model.settings)
    axes[0].figure.suptitle(f"{loops.names[a]} (α = 0) → {loops.names[b]} (α = 1)")
    png = unique_path(os.path.join(out, "morph_strip.png"))
    axes[0].figure.savefig(png, dpi=110)
    print(png)


def cmd_export_html(args):
    from .ui.export import morph_path, save_html

    model, loops = _model_and_loops(args)
    morphs = morph_path(model, args.a, args.b, loops=loops, steps=args.steps, n_iter=args.n_iter, keep_hits=args.keep_hits)
    path, n_bytes = save_html(args.out, morphs, overwrite=args.overwrite)
    print(f"{path} ({n_bytes / 1e6:.1f} MB, {len(morphs)} steps of alpha)")


COMMANDS = {
    "demo": cmd_demo,
    "synth-drums": cmd_synth_drums,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "morph": cmd_morph,
    "sweep": cmd_sweep,
    "export-html": cmd_export_html,
}
