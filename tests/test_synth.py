import hashlib

import numpy as np
import soundfile as sf

from morphlib.data.synth import demo_loop_names, random_kit, render_loop, synth_drums


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_same_seed_same_files(tmp_path):
    a = synth_drums(tmp_path / "a", n=3, seed=7, progress=False)
    b = synth_drums(tmp_path / "b", n=3, seed=7, progress=False)
    c = synth_drums(tmp_path / "c", n=3, seed=8, progress=False)
    assert [_digest(p) for p in a] == [_digest(p) for p in b]
    assert [_digest(p) for p in a] != [_digest(p) for p in c]


def test_loops_have_the_tutorial_shape(tmp_path):
    (path,) = synth_drums(tmp_path, n=1, progress=False)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
    assert abs(info.duration - 2 * 4 * 60 / 140) < 1e-3  # 2 bars at 140 BPM


def test_existing_files_are_kept(tmp_path):
    (path,) = synth_drums(tmp_path, n=1, progress=False)
    with open(path, "wb") as f:
        f.write(b"mine")
    synth_drums(tmp_path, n=1, progress=False)
    assert open(path, "rb").read() == b"mine"


def test_names_are_distinct_and_pack_like():
    names = demo_loop_names(74)
    assert len(set(names)) == 74
    assert all(n[-2] == " " and n[-1].isupper() for n in names)


def _centroid(y, sr):
    spec = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    return float(np.sum(freqs * spec) / np.sum(spec))


def test_loops_vary_in_sound_and_pattern():
    rng = np.random.default_rng(0)
    kits = [random_kit(rng) for _ in range(12)]
    ys = [render_loop(k, sr=22050, seed=i).mean(axis=0) for i, k in enumerate(kits)]
    centroids = [_centroid(y, 22050) for y in ys]
    assert max(centroids) > 1.5 * min(centroids)
    assert len({k.kick_steps for k in kits}) >= 3
    assert len({k.snare_kind for k in kits}) >= 2
    assert len({round(k.kick_start_hz) for k in kits}) == 12
    for y in ys:
        assert np.all(np.isfinite(y)) and 0.05 < np.max(np.abs(y)) <= 1.0
