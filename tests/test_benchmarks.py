"""The benchmark's quick mode still runs end to end and reports every figure."""

import json
import os
import subprocess
import sys

import pytest

#: Benchmarks run in fresh processes and train: the slow tier (CI), not the README's command.
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_benchmark_runs(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        # one corpus: the demo loops' run is the same code on other loops, and doubled the slow tier's longest test
        [sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--quick", "--corpus", "gm", "--work", str(tmp_path / "work"),
         "--json", str(out)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["default_recipe"] in report["corpora"]["gm"]["recipes"]
    assert set(report["corpora"]) == {"gm"}
    c = report["corpora"]["gm"]
    assert c["baseline"]["n_params"] == 5_943_449  # the baseline really is the tutorial's model
    budgets = {name for name, r in c["recipes"].items() if r["budget_fraction"] is not None}
    assert set(c["recipes"]) - budgets == {"tutorial", "onecycle"}
    assert {(r["budget_fraction"], r["precision"]) for name, r in c["recipes"].items() if name in budgets} >= {(0.2, "float32"), (0.1, "float32")}
    for name, r in c["recipes"].items():
        assert (r["epochs"] == 2 or name in budgets) and r["s_per_epoch"] > 0 and 0 < r["cosine_mean"] <= 1
        assert name not in budgets or r["epochs"] >= 1 and r["seconds"] <= 60 * r["budget_minutes"] + 5  # on the clock
    assert report["ceiling"]["flops_per_epoch"] > 0 and report["ceiling"]["float32_peak"] > 1e9 and "flags" in report["cpu"]
    assert set(report["morph_latency"]) == {"morphlib", "librosa_griffinlim_32"}
    assert set(report["targets"]) >= {"gm onecycle train_speedup", "gm tutorial time_to_baseline_quality",
                                      "gm onecycle final_cosine_vs_tutorial_recipe", "morph_latency_median_ms", "reload_speedup"}
    assert "gm: tutorial's code" in result.stdout and "recipe onecycle" in result.stdout


def _bench(*args, timeout=900):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": ROOT})


def _quick(script, tmp_path, *args):
    """``benchmarks/SCRIPT --quick ARGS --work ... --json ...`` run: (its result, its report)."""
    out = tmp_path / "report.json"
    result = _bench(os.path.join(ROOT, "benchmarks", script), "--quick", *args, "--work", str(tmp_path / "w"), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads(out.read_text())


def _fluidr3_kits():
    """``benchmarks/gm_loops`` importable, once FluidSynth and FluidR3 GM are here (else skip,
    or fail in CI: ``require_programs``)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from gm_loops import find_soundfont

    from tests.conftest import require_programs

    require_programs("fluidsynth", install="apt-get install fluidsynth fluid-soundfont-gm", why="it renders the recorded-drum corpus")
    if find_soundfont() is None:
        require_programs("fluid-soundfont-gm's FluidR3_GM.sf2", install="apt-get install fluid-soundfont-gm", why="the sampled kits")


def test_quick_panel_latency_runs(tmp_path):
    out = tmp_path / "latency.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "panel_latency.py"), "--quick", "--work", str(tmp_path / "w"), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report["runs"]) == {"morphlib alpha", "morphlib xy", "morphlib parts"}
    moves = [r for name, r in report["runs"].items() if name != "morphlib parts"]
    assert all(len(r["ms"]) == 3 and 0 < r["median_ms"] and r["full_median_ms"] > 0 for r in moves)
    # the demo loops pan their drums: the stereo image is rebuilt on every morph
    assert set(report["runs"]["morphlib parts"]) == {"decoder", "Griffin-Lim, draft", "Griffin-Lim, full", "picture", "stereo image"}
    assert "cores, flags" in report["cpu"]


def test_quick_stereo_benchmark_runs_and_checks_every_target(tmp_path):
    result, report = _quick("stereo.py", tmp_path, "--pairs", "3")
    summary = report["summary"]
    assert len(report["loops"]) == 8 and len(report["morphs"]) == 3  # the demo loops are all stereo
    assert summary["image_alone_width_error_db"] < 1.5 and summary["image_alone_correlation_error"] < 0.05
    assert summary["train_seconds_stereo"] > 0 and summary["train_seconds_mono"] > 0 and summary["render_ms_stereo"] > 0
    assert len(summary["verdicts"]) == 7 and "| audible LSD per channel |" in result.stdout
    assert "cores, flags" in report["cpu"]


def test_quick_sound_benchmark_runs(tmp_path):
    out = tmp_path / "sound.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "sound.py"), "--quick", "--corpus", "demo", "--presets", "tutorial@tutorial",
                    "studio:linear_weight=0", "--morph-methods", "linear", "spherical", "--hits", "model", "decoder",
                    "--hit-bands", "1", "--by-level", "--work", str(tmp_path / "w"), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report) == {f"demo {run}{path}{hits}" for run in ("tutorial@tutorial", "studio:linear_weight=0")
                           for path in ("", " ~spherical") for hits in ("", " ~decoder hits", " ~hits kept in 1 bands")}
    one_band = report["demo tutorial@tutorial ~hits kept in 1 bands"]
    assert one_band["keep_hits"] is True and one_band["vae sharpness_0.5_mean"] != report["demo tutorial@tutorial"]["vae sharpness_0.5_mean"]  # hits kept: another middle
    levels = report["demo studio:linear_weight=0"]["error_by_level"]
    assert list(levels) == ["0-20 dB below", "20-40 dB below", "40-60 dB below", "60-80 dB below"]
    assert sum(v["share"] for v in levels.values()) == pytest.approx(1.0) and sum(v["bins"] for v in levels.values()) == pytest.approx(1.0)
    assert report["demo tutorial@tutorial ~spherical"]["method"] == "spherical"
    # the studio preset keeps its ends' hits in the middle, the tutorial's plays the decode as it is
    assert report["demo studio:linear_weight=0"]["keep_hits"] is True
    assert report["demo studio:linear_weight=0 ~decoder hits"]["keep_hits"] is False
    assert report["demo tutorial@tutorial"]["keep_hits"] is False
    # one training per preset: the reconstruction figures are shared by both paths
    assert report["demo tutorial@tutorial ~spherical"]["audio_lsd_db"] == report["demo tutorial@tutorial"]["audio_lsd_db"]
    assert report["demo tutorial@tutorial"]["recipe"] == "tutorial"
    assert report["demo studio:linear_weight=0"]["zero_bins"] == 0.0  # softplus decodes no holes
    assert "targets:" in result.stdout
    assert "demo studio:linear_weight=0: " in result.stdout and "audible LSD" in result.stdout  # checked against the tutorial run
    # what each model takes on Drive, checked against the size targets
    assert all(report[k]["model_mb"] > 0 and report[k]["checkpoint_mb"] > 0 for k in report)
    assert "demo studio:linear_weight=0 (size): " in result.stdout


def test_quick_scale_benchmark_runs(tmp_path):
    out = tmp_path / "scale.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "scale.py"), "--quick", "--work", str(tmp_path / "w"), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    for n, size in report["sizes"].items():
        assert size["analysis_first"]["n"] == int(n) and size["analysis_incremental"]["n"] == int(n) - 1  # one deleted
        assert not size["train_streamed"]["in_memory"] and size["train_memory"]["in_memory"]
        assert size["train_streamed"]["examples_per_s"] > 0 and size["streamed_vs_memory"] > 0
    assert "train_peak_rss_growth_mb_40_to_80" in report["targets"]
    assert "ex/s memory" in result.stdout


def test_quick_phase_benchmark_runs(tmp_path, tiny_folder, tiny_model_dir):
    out = tmp_path / "phase.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "phase.py"), "--quick", "--data", tiny_folder, "--model", tiny_model_dir,
                    "--work", str(tmp_path / "w"), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert {"random GL-32", "pghi GL-16", "pghi GL-0"} <= set(report["loops"])
    assert {"previous GL-32", "pghi GL-32"} <= set(report["morphs"])
    for rows in report.values():
        assert all(r["ms"] > 0 and r["consistency_db"] < 0 for r in rows.values())
    # from the same magnitude, PGHI with 32 iterations is more consistent than a random start with 32
    assert report["loops"]["pghi GL-32"]["consistency_db"] < report["loops"]["random GL-32"]["consistency_db"]
    assert "ms per loop" in result.stdout


def test_recorded_drum_loops(tmp_path):
    """The real-drums corpus: FluidR3 GM kits sequenced here and played by FluidSynth."""
    import shutil

    import numpy as np
    import pytest
    import soundfile as sf

    _fluidr3_kits()
    from gm_loops import gm_loops

    paths = gm_loops(tmp_path / "gm", n=3, seed=1)
    assert len(set(paths)) == 3
    for path in paths:
        y, sr = sf.read(path)
        assert sr == 44100 and y.shape == (151200, 2)  # two bars at 140 BPM, stereo
        assert 0.5 < np.abs(y).max() <= 0.9
        S = np.abs(np.fft.rfft(y[:, 0]))
        high = S[np.fft.rfftfreq(len(y), 1 / sr) > 4000].sum() / S.sum()
        assert high > 0.05  # hats and cymbals: recorded drums, not a kick pattern


def test_the_stereo_corpus_puts_loops_in_rooms_from_dry_to_large(tmp_path):
    import soundfile as sf

    _fluidr3_kits()
    from gm_loops import ROOMS, gm_loops

    from morphlib.sound.stereo import channel_correlation, side_to_mid_db

    paths = gm_loops(tmp_path / "rooms", n=len(ROOMS), seed=3, rooms=True)
    dry, large = (sf.read(paths[k], always_2d=True)[0].T for k in (0, len(ROOMS) - 1))
    assert side_to_mid_db(large) > side_to_mid_db(dry) + 6 and channel_correlation(large) < channel_correlation(dry) - 0.1


def test_quick_rank_benchmark_runs(tmp_path):
    _, report = _quick("rank.py", tmp_path, "--smooth", "3")
    assert report.pop("smoothed over 3 bins") > report["original"]  # the fine structure from bin to bin is heard
    assert set(report) == {"original", "log1p(|S|) rank 2", "log1p(|S|) rank 4", "log(1 + |S|/0.1) rank 2", "log(1 + |S|/0.1) rank 4"}
    assert report["original"] < report["log1p(|S|) rank 4"] < report["log1p(|S|) rank 2"]  # more spectra, closer


def test_quick_restart_benchmark_runs(tmp_path):
    out = tmp_path / "restart.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "restart.py"), "--quick", "--peaks", "1", "--work", str(tmp_path / "w"),
                    "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report["restarts"]) == {"1"}
    # the restart continues the first cycle's folder: it has that cycle's epochs and more
    assert report["restarts"]["1"]["epochs"] > report["first"]["epochs"] > 0
    assert 0 < report["fresh"]["cosine_mean"] <= 1
    assert "restart peak 1x" in result.stdout and "cores, flags" in result.stdout


def test_quick_epoch_levers_benchmark_runs(tmp_path):
    out = tmp_path / "levers.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "epoch_levers.py"), "--quick", "--code-levers", "--work", str(tmp_path / "w"),
                    "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(out.read_text())["presets"]["tiny"]
    assert list(runs) == ["TensorFlow's default threads", "Keras' Adam in place of FusedAdam", "jit_compile=True (XLA), full batches",
                          "input pipeline alone"]
    assert all(r["s_per_epoch"] > 0 and r["epochs"] == 3 for r in runs.values())
    assert "x the default" in result.stdout and "cores, flags" in result.stdout


def test_quick_bank_step_benchmark_runs(tmp_path):
    out = tmp_path / "bank.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "bank_step.py"), "--quick", "--keras-adam", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    row = json.loads(out.read_text())["banks"]["quick"]
    assert row["adam_ms"] > 0 and row["factored_ms"] > 0 and row["keras_adam_ms"] > 0 and "Keras' Adam" in result.stdout
    # Adam keeps two moments as big as the bank; the factored update a row and a column
    assert row["adam_state_mb"] > 10 * row["factored_state_mb"]
    assert "factored" in result.stdout and row["ratio"] == row["factored_ms"] / row["adam_ms"]


def test_quick_addloops_benchmark_runs(tmp_path):
    out = tmp_path / "add.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "addloops.py"), "--quick", "--work", str(tmp_path / "w"), "--json", str(out),
                    "--presets", "studio:latent_dim=8", "--levers", "as it is", "weight decay 0.05",
                    "--shares", "0.5@6", "0.45:0.25", "--step-back", "0.5", "--fit-steps", "0", "5", "--fit-rates", "0.2",
                    "--fit-nearest", "2", "--variants", "adam-old-state", "replay-drift")
    if "needs FluidSynth" in result.stdout + result.stderr:
        _needs_fluidsynth()
    assert result.returncode == 0, result.stderr[-3000:]
    row = json.loads(out.read_text())[0]
    assert row["new_loops"] >= 1 and row["old_loops"] >= 1
    assert all(0 < row[k] < 100 for k in ("new_before", "new_fitted", "new_after", "old_after"))
    assert "(new loops in 3 s)" in result.stdout and "fitted latents" in result.stdout
    # the share and peak variants, each from the same trained model, and the first stepped back
    assert [(r["first"], r["last"], r["peak"], r.get("step_back")) for r in row["shares"]] == [
        (0.5, 0.5, 6.0, None), (0.5, 0.5, 6.0, 0.5), (0.45, 0.25, 10.0, None)]
    assert all(0 < r["new"] < 100 and 0 < r["old"] < 100 for r in row["shares"]) and "old loops lose" in result.stdout
    assert [r["variant"] for r in row["variants"]] == ["adam-old-state", "replay-drift"]  # the encoder trained too
    assert all(r["steps"] > 0 and 0 < r["new"] < 100 and 0 < r["old"] < 100 for r in row["variants"])
    assert "with the encoder trained" in result.stdout
    assert set(row["new_fitted_by_steps"]) == {"0", "5"} and row["new_fitted_by_steps"]["0"] == pytest.approx(row["new_before"])
    assert list(row["new_fitted_harder"]) == ["rate 0.2, 5 steps, from 2 nearest too"]
    assert 0 < row["new_fitted_harder"]["rate 0.2, 5 steps, from 2 nearest too"] < 100
    tried = json.loads(out.read_text())[1:]
    assert [r["lever"] for r in tried] == ["as it is", "weight decay 0.05"] and all(r["unseen_fitted"] > 0 for r in tried)
    assert row["preset"] == "studio:latent_dim=8" and all(r["preset"] == "studio:latent_dim=8" for r in tried)  # a variant


def test_the_sound_benchmark_adds_unseen_kits_in_the_same_run(tmp_path):
    out = tmp_path / "sound.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "sound.py"), "--quick", "--corpus", "gm", "--presets", "studio", "--add-kits",
                    "--work", str(tmp_path / "w"), "--json", str(out))
    if "needs FluidSynth" in result.stdout + result.stderr:
        _needs_fluidsynth()
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report) == {"gm studio", "gm studio (kits added)"}
    added = report["gm studio (kits added)"]
    assert added["new_loops"] >= 1 and all(0 < added[k] < 100 for k in ("new_before", "new_fitted", "new_after", "old_after"))
    assert "(new loops in 3 s)" in result.stdout


def test_quick_plateau_benchmark_runs(tmp_path):
    out = tmp_path / "plateau.json"
    result = _bench(os.path.join(ROOT, "benchmarks", "plateau.py"), "--quick", "--corpus", "demo", "--seeds", "3",
                    "--dead-units-at", "10", "--recipes", "onecycle", "onecycle:peak=4", "--inits", "glorot", "--work", str(tmp_path / "w"),
                    "--levers", "unit-rms", "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = report["runs"]
    assert [(r["recipe"], r["init"], r["seed"]) for r in rows] == [("onecycle", "glorot", 3), ("onecycle:peak=4", "glorot", 3),
                                                                   ("onecycle + unit-rms", "glorot", 3)]
    assert "cores, flags" in report["cpu"] and "(onecycle:peak=4)" in result.stdout and "(onecycle + unit-rms)" in result.stdout
    assert "dead_units" not in rows[2] and 0 < rows[2]["cosine_mean"] <= 1
    for r in rows[:2]:
        assert [e for e, _ in r["curve"]] == [1, 2, 3, 4] and 0 < r["cosine_mean"] <= 1 and r["cosine_mean"] == r["curve"][-1][1]
        assert r["dead_units"]["epochs"] == r["dead_units"]["trained"] == 2  # the first 2 epochs of the 4-epoch run
        assert 0 <= r["dead_units"]["dead"] <= r["dead_units"]["units"] == 256
    assert "above 0.80 at" in result.stdout and "units (" in result.stdout


@pytest.mark.parametrize("curve, epoch", [([(5, 0.5), (10, 0.79), (15, 0.81), (20, 0.9)], 15), ([(5, 0.77), (10, 0.78)], None), ([], None)])
def test_the_plateau_is_left_at_the_first_epoch_above_its_level(curve, epoch):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from plateau import first_above

    assert first_above(curve) == epoch


def _needs_fluidsynth():
    from tests.conftest import require_programs

    require_programs("fluidsynth", install="apt-get install fluidsynth fluid-soundfont-gm", why="the benchmark's recorded drums")
    pytest.fail("the benchmark says it needs FluidSynth, which is installed: is fluid-soundfont-gm missing?")


def test_smoothing_over_bins_averages_neighbours_and_keeps_the_shape():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import numpy as np
    from rank import smooth_bins

    S = np.zeros((2, 7, 3))
    S[:, 3, :] = 3.0
    out = smooth_bins(S, 3)
    assert out.shape == S.shape and np.allclose(out[:, 2:5, :], 1.0) and np.allclose(out[:, [0, 1, 5, 6], :], 0.0)
    assert np.allclose(smooth_bins(S, 1), S)


def test_the_browser_drag_table_has_a_row_per_preset_and_front_end():
    """browser_drag.py's own part (CI runs the browser test it drives in the slow tier)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from browser_drag import table

    figures = {kind: {"median_ms": m, "worst_ms": w} for kind, m, w in (
        ("α drag, request–reply", 80.0, 90.5), ("α drag, path", 0.3, 0.9), ("pad drag, request–reply", 70.0, 75.0),
        ("pad drag, path", 0.5, 2.0))}
    row = {**figures, "path in the page, s": {"α path": 1.5, "pad grid": 1.2, "pad grid 9 × 9": 3.1}, "network delay each way, ms": 150.0}
    lines = table({"tutorial": {"colab": row, "classic": {**row, "network delay each way, ms": 0.0}}}).splitlines()
    assert len(lines) == 4 and lines[0].startswith("| preset | front end |")
    assert lines[2] == ("| tutorial | colab | 150 ms | 80.0 / 90.5 ms | 0.3 / 0.9 ms | 70.0 / 75.0 ms | 0.5 / 2.0 ms "
                        "| 1.5 s | 1.2 s | 3.1 s |")
    assert lines[3].startswith("| tutorial | classic | 0 ms |")


def test_the_start_levers_change_what_they_name_as_training_begins():
    """``plateau.py --levers``: each lever is in force from the first step (a run with the
    KL ramp at 0 has no KL in its loss), and the small posterior starts its scales small."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import numpy as np
    from start_levers import SMALL_SCALE, check, small_posterior, start_callback

    from morphlib.model.vae import VAE

    with pytest.raises(SystemExit, match="'slow-start'"):
        check(["kl-ramp", "slow-start"])
    x = np.abs(np.random.default_rng(0).normal(size=(8, 129, 16))).astype(np.float32)
    loops = type("Loops", (), {"S": x, "__len__": lambda self: len(x)})()
    vae = VAE(129, 16, latent_dim=3, hidden=8, beta=0.5, seed=0)
    vae.compile(optimizer="adam")
    names = ["kl-ramp", "leaky-output", "adam-beta2-0.99"]
    history = vae.fit(x, epochs=2, batch_size=4, verbose=0, callbacks=[start_callback(names, loops, ramp_epochs=4)]).history
    assert history["loss"][0] == pytest.approx(history["mse"][0], rel=1e-6)  # ramp 0 in epoch 0
    assert history["loss"][1] > history["mse"][1]  # a quarter of the KL in epoch 1
    assert vae.decoder.get_layer("non_negative").negative_slope > 0 and vae.optimizer.beta_2 == 0.99
    small_posterior(vae)
    _, scale = vae.posterior_params(x)
    diagonal = np.diagonal(np.asarray(scale), axis1=1, axis2=2)
    assert np.allclose(diagonal, SMALL_SCALE, rtol=0.5)


def test_the_tempo_benchmark_reports_each_kit_set_corpus_and_seed(tmp_path):
    result = _bench(os.path.join(ROOT, "benchmarks", "tempo.py"), "--tempo-only", "--kits", "fluidr3", "--corpora", "slow1", "mixed",
                    "--seeds", "3", "--n", "4", "--work", str(tmp_path))
    if "needs FluidSynth" in result.stdout + result.stderr:
        _needs_fluidsynth()
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads((tmp_path / "tempo.json").read_text())["tempo_found"]
    assert list(found) == ["fluidr3 slow1 seed 3", "fluidr3 mixed seed 3"]
    for r in found.values():
        assert r["named"]["files"] == r["unnamed"]["files"] == 2
        assert len(r["missed"]) == 4 - r["named"]["found"] - r["unnamed"]["found"]
    assert "unnamed" in result.stdout and "fluidr3 slow1 seed 3" in result.stdout


def _sound_row(by_edge, sharp=(1.0, 1.0, 1.0), crossfade=(0.9, 0.9, 0.9)):
    return {"sr": 22050, "vae seam_excess_db_by_edge_max": by_edge, "crossfade seam_excess_db_by_edge_max": [2.0] * len(by_edge),
            **{f"vae sharpness_{a}_mean": s for a, s in zip(("0.25", "0.5", "0.75"), sharp)},
            **{f"crossfade sharpness_{a}_mean": s for a, s in zip(("0.25", "0.5", "0.75"), crossfade)}}


def test_the_issue_40_table_splits_seams_at_500_hz_and_counts_tempo_on_the_kits_kept_aside():
    """stereo_seams_tempo.py's own part: seams under 500 Hz (65, 140, 345 Hz at 22,050 Hz)
    apart from those above, each checked against + 1 dB with the seam-free references beside
    it; tempo as the share of unnamed files of the kit sets kept aside."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from stereo_seams_tempo import table

    seams = {"gm studio": _sound_row([0.5, 1.4, 0.2, 0.3, 0.9, 0.1]), "gm studio ~ends hits": _sound_row([0.4, 1.6, 0.1, 0.2, 0.2, 0.0]),
             "gm studio ~decoder hits": _sound_row([0.6, 1.5, 0.3, 0.4, 0.3, 0.1])}
    cell = lambda found: {"unnamed": {"files": 20, "found": found}, "named": {"files": 20, "found": 20}}  # noqa: E731
    found = {"fluidr3 mixed seed 13": cell(12), "timgm6mb mixed seed 13": cell(19), "avl mixed seed 13": cell(20),
             "timgm6mb fast seed 13": cell(18), "avl fast seed 13": cell(18)}
    rows = table({"seams fluidr3": seams, "seams avl": {**seams, "gm studio": _sound_row([0.5] * 6, sharp=(0.8, 0.8, 0.8))},
                  "tempo": {"tempo_found": found}})
    by = {(r["part"], r["figure"]): r for r in rows}
    low, high = by[("2 seams, fluidr3", "largest step beyond the ends', under 500 Hz, dB")], by[("2 seams, fluidr3", "largest step beyond the ends', 818 Hz and up, dB")]
    assert (low["today"], low["met"], high["today"], high["met"]) == (1.4, False, 0.9, True)
    assert "no band edge (ends bin by bin) +1.6; the decoder's own +1.5" in low["beside"]
    assert by[("2 seams, fluidr3", "mid-morph sharpness at α = .5 (ends = 1)")]["met"] is True
    assert by[("2 seams, avl (kept aside)", "mid-morph sharpness at α = .5 (ends = 1)")]["met"] is False  # under 0.85 and the crossfade
    mixed = next(r for r in rows if "mixed" in r["figure"])
    fast = next(r for r in rows if "160-180" in r["figure"])
    assert (mixed["today"], mixed["met"], fast["today"], fast["met"]) == (97.5, True, 90.0, False)  # FluidR3's 12 of 20 left out
    assert mixed["beside"].startswith("FluidR3 (tuned on) 60.0")

