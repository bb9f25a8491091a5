"""Tempo from names and audio, bars fitted to the window, circular loops, exports at a tempo."""

import os

import numpy as np
import pytest
import soundfile as sf

import morphlib as ml
from morphlib.config import AnalysisSettings, settings_for
from morphlib.errors import ParameterError, SettingsMismatchError
from morphlib.data.synth import random_kit, render_loop
from morphlib.data.tempo import (STRETCH_LIMITS, Tempo, bpm_from_name, choose_bars, detect_bpm, find_tempo, fit_to_window,
                            nearest_bars, seam_level, time_stretch)

from .conftest import require_programs

SR = 8000
#: Small settings: 3.2 s windows at 8 kHz.
SMALL = AnalysisSettings(sr=SR, n_fft=256, hop_length=128, n_frames=201)


def drum_loop(bpm, bars, *, sr=SR, seed=0):
    """A synthetic drum loop of exactly ``bars`` bars at ``bpm`` (mono)."""
    return render_loop(random_kit(np.random.default_rng(seed), bars=bars), sr=sr, bpm=bpm, bars=bars, seed=seed).mean(axis=0)


@pytest.mark.parametrize("name, bpm", [
    ("Funk 128bpm.wav", 128.0),
    ("kick_128_BPM.wav", 128.0),
    ("BPM128 loop.flac", 128.0),
    ("breaks_128_a.wav", 128.0),
    ("loop-128-2.wav", 128.0),
    ("house 124.5 BPM.wav", 124.5),
    ("sub/dir/loop_90.aif", 90.0),
    # no tempo: a loop number, a leading zero, two bare numbers, a number outside the range
    ("GM Kit 08 Loop 011.wav", None),
    ("a_001_b.wav", None),
    ("x_100_120.wav", None),
    ("Loop 100.wav", None),
    ("fast 400bpm.wav", None),
])
def test_bpm_from_name(name, bpm):
    assert bpm_from_name(name) == bpm


@pytest.mark.parametrize("bpm, bars", [(100, 2), (128, 1), (140, 2), (120, 4)])
def test_detect_bpm_finds_a_loops_tempo_from_the_tracker_and_its_length(bpm, bars):
    found = detect_bpm(drum_loop(bpm, bars, seed=bpm + bars), sr=SR)
    assert found is not None and abs(found / bpm - 1) < 0.02


@pytest.mark.parametrize("signal", [
    np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32),  # noise: no beat
    np.sin(np.arange(3 * SR) * 0.3).astype(np.float32),  # a steady tone: no onsets to follow
])
def test_detect_bpm_gives_none_without_a_beat(signal):
    assert detect_bpm(signal, sr=SR) is None


@pytest.mark.parametrize("bpm, bars, want_bars, repeats", [
    (120, 2, 2, 1),  # 4.00 s: 2 bars squeezed
    (140, 1, 2, 2),  # 1.71 s: played twice
    (174, 4, 2, 1),  # 5.52 s: its first 2 bars
    (90, 1, 1, 1),
    (140, 0.5, 2, 4),  # half a bar, repeated
])
def test_choose_bars_takes_the_least_stretch(bpm, bars, want_bars, repeats):
    window = 3.41
    fit = choose_bars(Tempo(bpm, "name", bars), window)
    assert (fit.bars, fit.repeats) == (want_bars, repeats)
    assert fit.within_limits
    # no other bar count of the same material needs less stretch
    assert abs(np.log(fit.stretch)) <= min(abs(np.log(window * bpm / (240 * b))) for b in (1, 2, 4, 8) if b >= fit.source_bars) + 1e-9


def test_choose_bars_refuses_less_than_a_beat():
    assert choose_bars(Tempo(140, "name", 0.2), 3.41) is None


def test_fit_to_window_is_exactly_the_window_and_says_the_stretch():
    y = drum_loop(120, 2)
    out, fit, reason = fit_to_window(y, sr=SR, n_samples=SMALL.n_samples, tempo=Tempo(120, "name", 2.0))
    assert reason is None and out.shape == (SMALL.n_samples,)
    assert fit.stretch == pytest.approx(SMALL.duration / 4.0)
    # the first hit stays at the start: the bars are not shifted
    onset = np.argmax(np.abs(out) > 0.1 * np.abs(out).max())
    assert onset < 0.01 * SR


@pytest.mark.parametrize("method", ["signalsmith", "rubberband"])
@pytest.mark.parametrize("stretch", [0.8, 1.25])
def test_time_stretch_keeps_length_and_moves_hits_with_it(stretch, method):
    if method == "rubberband":
        require_programs("rubberband", install="apt-get install rubberband-cli",
                         why="librosa's phase vocoder, the fallback, moves hits by 30-44 ms")
    y = np.zeros(2 * SR, np.float32)  # 1 bar at 120 BPM: a hit on every beat
    for k in range(4):
        y[k * SR // 2 : k * SR // 2 + 400] += np.random.default_rng(k).standard_normal(400) * np.exp(-np.arange(400) / 50)
    out = time_stretch(y, sr=SR, stretch=stretch, method=method)
    assert len(out) == round(len(y) * stretch)
    power = np.convolve(out**2, np.ones(80), "same")
    for k in range(4):  # each hit where the stretch puts it, within 20 ms
        at = int(k * 0.5 * stretch * SR)
        lo = max(0, at - int(0.1 * SR))
        assert abs(lo + np.argmax(power[lo : at + int(0.1 * SR)]) - at) < 0.02 * SR


def test_the_stretcher_comes_from_pip_alone(monkeypatch):
    """python-stretch (requirements.txt; the notebooks install it in Colab) stretches wherever
    it is installed, whatever programs the machine has."""
    import shutil

    from morphlib.data.tempo import STRETCHERS, stretcher

    assert stretcher() == "signalsmith" and STRETCHERS[stretcher()] == "Signalsmith Stretch"
    monkeypatch.setitem(__import__("sys").modules, "python_stretch", None)  # not installed
    stretcher.cache_clear()
    try:
        assert stretcher() == ("rubberband" if shutil.which("rubberband") else "librosa")
    finally:
        stretcher.cache_clear()
    with pytest.raises(ParameterError, match="method must be one of"):
        time_stretch(np.zeros(100, np.float32), sr=SR, stretch=1.1, method="paulstretch")


def test_seam_level_hears_a_click_and_a_gap():
    y = drum_loop(120, 2)
    steady = seam_level(y, sr=SR)
    clicked = y.copy()
    clicked[-100:] = 0.9  # a step at the join
    gapped = y.copy()
    gapped[-400:] = 0.0
    gapped[:200] = 0.0
    assert abs(steady) < 6  # the join of a whole-bar loop sounds like its middle
    assert seam_level(clicked, sr=SR) > steady + 4
    assert seam_level(gapped, sr=SR) < steady - 6


def test_find_tempo_prefers_the_name_unless_the_audio_contradicts_it():
    y = drum_loop(140, 2, seed=1)
    agree = find_tempo(y, sr=SR, name="beat 140bpm.wav")
    assert (agree.bpm, agree.source, agree.note) == (140.0, "name", None)
    # the name says 90, but 3.43 s are 2 whole bars at 140, not at 90
    wrong = find_tempo(y, sr=SR, name="beat 90bpm.wav")
    assert wrong.source == "detected" and abs(wrong.bpm / 140 - 1) < 0.02
    assert "the name says 90 BPM" in wrong.note and "audio" in wrong.note


def write(folder, name, y, sr=SR):
    path = os.path.join(folder, name)
    sf.write(path, y, sr)
    return path


@pytest.fixture
def mixed_folder(tmp_path):
    write(tmp_path, "two bars 120bpm.wav", drum_loop(120, 2, seed=1))
    write(tmp_path, "one bar.wav", drum_loop(128, 1, seed=2))
    write(tmp_path, "four bars_100_.wav", drum_loop(100, 4, seed=4))
    write(tmp_path, "noise.wav", np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32) * 0.3)
    write(tmp_path, "blip 140bpm.wav", drum_loop(140, 1, seed=5)[: int(0.2 * SR)])  # shorter than a beat
    write(tmp_path, "huge 60bpm.wav", drum_loop(60, 1, seed=6))  # named 60 BPM: 4 s fits 1 bar at x0.8
    return tmp_path


def test_load_folder_stretches_whole_bars_and_says_so(mixed_folder):
    settings = AnalysisSettings(**{**SMALL.to_dict(), "fit": "stretch"})
    loops = ml.load_folder(mixed_folder, settings, cache=False, progress=False)
    assert loops.y.shape[1] == settings.n_samples
    rows = {r["name"]: r for r in loops.rows()}
    two = rows["two bars 120bpm"]
    assert (two["bpm"], two["tempo from"], two["bars"]) == (120.0, "name", 2)
    assert two["stretch"] == f"x{settings.duration / 4.0:.3f}"
    one = rows["one bar"]
    assert one["tempo from"] == "detected" and abs(one["bpm"] / 128 - 1) < 0.02 and one["bars"] == 2
    assert "x2" in one["notes"]  # one bar played twice
    assert rows["four bars_100_"]["bpm"] == 100.0
    noise = rows["noise"]
    assert noise["bpm"] == "-" and noise["tempo from"] == "not found" and "cropped" in noise["notes"]
    skipped = {s.name: s.reason for s in loops.skipped}
    assert "shorter than one beat" in skipped["blip 140bpm"]
    assert "bpm" in loops.table() and "tempo from" in loops.table()


def test_an_extreme_stretch_is_refused_and_cropped(tmp_path):
    # one bar at 200 BPM (1.2 s) in a 3.2 s window needs x1.33 twice or x2.67 once:
    # with tiny windows of 1 s, 4 bars at 60 BPM (16 s) need more than the limit whatever is chosen
    write(tmp_path, "slow 60bpm.wav", drum_loop(60, 1, seed=7))
    tiny = AnalysisSettings(sr=SR, n_fft=256, hop_length=128, n_frames=11, fit="stretch")  # 0.16 s
    loops = ml.load_folder(tmp_path, tiny, cache=False, progress=False)
    notes = loops.rows()[0]["notes"]
    assert "stretch refused" in notes and f"x{STRETCH_LIMITS[0]}" in notes and "cropped" in notes


def test_crop_keeps_todays_audio_and_still_reports_the_tempo(mixed_folder):
    loops = ml.load_folder(mixed_folder, SMALL, cache=False, progress=False)
    i = loops.index("two bars 120bpm")
    y, _ = ml.sound.audio.read_audio(os.path.join(mixed_folder, "two bars 120bpm.wav"), sr=SR)
    np.testing.assert_array_equal(loops.y[i], y[: SMALL.n_samples])
    assert loops.infos[i].bpm == 120.0 and loops.infos[i].stretch is None
    assert "blip 140bpm" in loops.names  # cropping keeps what stretching cannot loop


def test_store_analyses_a_file_again_when_its_name_says_another_tempo(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    y = drum_loop(140, 2, seed=8)
    write(data, "loop 140bpm.wav", y)
    settings = AnalysisSettings(**{**SMALL.to_dict(), "fit": "stretch"})
    first = ml.load_folder(data, settings, cache=cache, progress=False)
    os.rename(data / "loop 140bpm.wav", data / "loop 70bpm.wav")
    second = ml.load_folder(data, settings, cache=cache, progress=False)
    assert first.infos[0].bpm == 140.0 and second.infos[0].bpm == 70.0


def test_fit_is_an_analysis_setting_that_models_know(tmp_path):
    assert settings_for("tutorial").fit == "crop" and settings_for("studio").fit == "stretch"
    assert AnalysisSettings.from_dict({"sr": 22050}).fit == "crop"  # a model from before fit existed
    with pytest.raises(ParameterError, match="fit must be one of crop, stretch, got 'squash'"):
        AnalysisSettings(fit="squash")
    diffs = AnalysisSettings(fit="stretch").differences(AnalysisSettings())
    assert diffs == ["fit: stretch in the data, crop in the model"]


def test_a_model_refuses_data_fitted_the_other_way(tmp_path):
    from morphlib.model.morphmodel import MorphModel

    model = MorphModel(vae=None, settings=SMALL, model_dir=str(tmp_path))
    with pytest.raises(SettingsMismatchError, match="fit: stretch in the data, crop in the model"):
        model.check(AnalysisSettings(**{**SMALL.to_dict(), "fit": "stretch"}))


def test_circular_griffin_lim_joins_without_a_seam():
    from morphlib.sound.spectral import spectral_convergence

    circular = AnalysisSettings(**{**SMALL.to_dict(), "fit": "stretch"})
    y, _, _ = fit_to_window(drum_loop(120, 2, seed=9), sr=SR, n_samples=SMALL.n_samples, tempo=Tempo(120, "name", 2.0))
    target = ml.sound.spectral.magnitude(y, circular)  # what the loop sounds like across its join
    edges = [0, 1, 2, -3, -2, -1]
    across_join = {}
    for settings in (SMALL, circular):
        out = ml.griffin_lim(ml.sound.spectral.magnitude(y, settings), settings, n_iter=32)
        assert out.shape == (SMALL.n_samples,)
        across_join[settings.fit] = spectral_convergence(target[:, edges], ml.sound.spectral.magnitude(out, circular)[:, edges])
    # played in a loop, the circular reconstruction matches the loop across its join; the
    # tutorial's (zero-padded ends) does not know the join is there
    assert across_join["stretch"] < 0.5 * across_join["crop"]
    assert across_join["stretch"] < 0.25


def test_circular_stft_round_trip_is_exact():
    from morphlib.sound.spectral import reconstructor

    circular = AnalysisSettings(**{**SMALL.to_dict(), "fit": "stretch"})
    y = np.random.default_rng(1).standard_normal(circular.n_samples).astype(np.float32)
    pr = reconstructor(circular)
    np.testing.assert_allclose(pr.istft(pr.stft(y), len(y)), y, atol=1e-5)
    S = ml.sound.spectral.magnitude(y, circular)
    np.testing.assert_allclose(S[:, 0], S[:, -1], rtol=1e-5, atol=1e-5)  # the first and last frame see the same join


@pytest.mark.parametrize("window_s, bpm, bars", [(3.41, 140, 2), (3.41, 70, 1), (3.41, 128, 2), (1.0, 120, 1), (4.0, 120, 2), (3.41, 300, 4)])
def test_nearest_bars(window_s, bpm, bars):
    assert nearest_bars(window_s, bpm) == bars


@pytest.mark.parametrize("bpm, bars, ok", [(128, 2, True), (90, 1, True), (10, 2, False), ("fast", 2, False), (128, 0, False)])
def test_at_tempo_writes_whole_bars_at_the_projects_tempo(bpm, bars, ok):
    from morphlib.morphing.morphs import Morph, at_tempo

    y = drum_loop(140, 2, seed=10)[: SMALL.n_samples]
    m = Morph("A", "B", 0.5, "linear", np.zeros(SMALL.shape, np.float32), y, SR)
    if not ok:
        with pytest.raises(ParameterError, match="bpm|bars"):
            at_tempo(m, bpm, window_s=SMALL.duration, bars=bars)
        return
    out = at_tempo(m, bpm, window_s=SMALL.duration, bars=bars)
    assert len(out.y) == round(bars * 240 / bpm * SR)
    assert out.name.endswith(f"{bpm}bpm {bars}bar{'s' * (bars > 1)}")
    assert np.max(np.abs(out.y)) <= 0.99


@pytest.mark.parametrize("bpm, bars, told", [(95, 1, 190), (170, 2, 85), (100, 2, 200), (175, 1, 175)])
def test_the_octave_is_read_from_where_the_snare_falls(bpm, bars, told):
    """Read an octave off, a loop with its snare on beats 2 and 4 is taken back to its tempo;
    read right, it stays (a 1-bar loop at 175 is half a bar at 87.5: no other reading)."""
    from morphlib.data.backbeat import pick_octave

    y = drum_loop(bpm, bars, seed=1)
    assert pick_octave(y, told, sr=SR) == pytest.approx(bpm)
    assert pick_octave(y, bpm, sr=SR) == pytest.approx(bpm)


def test_the_backbeat_score_needs_whole_bars_and_sees_the_snare():
    from morphlib.data.backbeat import backbeat, snare_onsets

    y = drum_loop(120, 2, seed=3)
    envelope, hop = snare_onsets(y, sr=SR)
    at = {f: backbeat(envelope, 120 * f, duration=len(y) / SR, sr=SR, hop_length=hop) for f in (0.5, 1, 2, 1.1)}
    assert at[1] > 2 * max(at[0.5], at[2]) and at[1.1] is None  # 4 s at 132 BPM is 2.2 bars
    assert backbeat(np.zeros_like(envelope), 120, duration=len(y) / SR, sr=SR, hop_length=hop) is None


def test_a_backbeat_of_open_hats_at_twice_the_tempo_does_not_win_over_the_snare(monkeypatch):
    """A 1-bar groove at 92 BPM, snare on 2 and 4, open hats on the eighths between the beats:
    read at 184 (2 bars) its hats make a backbeat and its snare falls on beat 3. The snare's
    body band then asks the backbeat to beat beat 3 alone, so 92 wins; without that, 184 did."""
    import morphlib.data.backbeat as bb

    hop, bpm = 64, 92.0
    duration = 240 / bpm
    envelopes = np.zeros((2, int(duration * SR / hop) + 4))
    step = 60 / bpm / 4 * SR / hop  # frames per sixteenth
    for sixteenth, body, crack in [(4, 1.0, 1.0), (12, 1.0, 1.0), *[(k, 0.6, 1.0) for k in (2, 6, 10, 14)]]:
        envelopes[:, int(round(sixteenth * step))] = body, crack
    scores = bb.octave_scores(envelopes, bpm, duration=duration, sr=SR, hop_length=hop)
    assert max(scores, key=scores.get) == 1.0
    monkeypatch.setattr(bb, "HALF_TIME_BANDS", ())
    before = bb.octave_scores(envelopes, bpm, duration=duration, sr=SR, hop_length=hop)
    assert max(before, key=before.get) == 2.0


def test_a_short_fast_loop_keeps_its_tempo():
    """One bar at 175 BPM (1.37 s): too short for the tracker's own lags, but its onsets
    repeat at the beat of the tempo that makes it one bar."""
    assert detect_bpm(drum_loop(175, 1, seed=0), sr=SR) == pytest.approx(175, rel=1e-3)


@pytest.mark.parametrize("signal, why", [
    (np.zeros(3 * SR, np.float32), "silent"),
    (np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32), "do not repeat at any beat from 60 to 200 BPM"),
])
def test_a_loop_without_a_tempo_says_why(signal, why, tmp_path):
    from morphlib.data.tempo import why_no_tempo

    assert why in why_no_tempo(signal, sr=SR)
    assert why_no_tempo(drum_loop(120, 2), sr=SR) is None
    sf.write(tmp_path / "hiss.wav", signal, SR)
    sf.write(tmp_path / "groove.wav", drum_loop(120, 2), SR)
    loops = ml.load_folder(tmp_path, AnalysisSettings(sr=SR, n_fft=256, hop_length=128, n_frames=201, fit="stretch"), progress=False, cache=False)
    notes = {os.path.basename(i.path): "; ".join(i.notes) for i in loops.infos}
    if why == "silent":  # skipped before its tempo is looked for
        assert [s.name for s in loops.skipped] == ["hiss"] and "silent" in loops.skipped[0].reason
    else:
        assert "no tempo found (no BPM in the name; the audio: its onsets " + why in notes["hiss.wav"]
    assert "stretched" in notes["groove.wav"] and "no tempo" not in notes["groove.wav"]
