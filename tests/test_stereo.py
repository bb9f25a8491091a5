"""Stereo through the line: a loop's image (its side given its mid) and the loop rebuilt from
it, files of any channel count, the store and the model folder keeping images, morphs,
sweeps, the pad, exports and the panel's path in stereo; mono loops stay mono."""

import os

import numpy as np
import pytest
import soundfile as sf

from morphlib.data.dataset import load_folder
from morphlib.errors import ModelFolderError, ParameterError
from morphlib.morphing.morphs import at_tempo, crossfade, morph, morph_xy
from morphlib.morphing.sweeps import sweep, sweep_xy
from morphlib.sound import stereo
from morphlib.sound.audio import read_audio
from morphlib.sound.audiometrics import audible_lsd
from morphlib.sound.spectral import magnitude

from .conftest import TINY, tone_burst


def drums(n, sr, *, pan=0.6, room=0.3, seed=0):
    """A stereo drum-like loop [shape=(2, n)]: a kick in the middle, a hat panned by ``pan``
    (1 is all left), and a room: tails unrelated between the channels at ``room``."""
    rng = np.random.default_rng(seed)
    kick = tone_burst(n, sr, freq=90, decay=0.03, seed=seed)
    hat = np.zeros(n, np.float32)
    for start in range(n // 8, n, n // 4):
        m = min(n - start, n // 10)
        hat[start : start + m] += 0.4 * rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 6))
    tails = [np.convolve(kick + hat, rng.standard_normal(n // 4) * np.exp(-np.arange(n // 4) / (n / 16)))[:n] for _ in range(2)]
    tails = [room * t / np.max(np.abs(t)) * np.max(np.abs(kick)) for t in tails]
    left = kick + np.sqrt(0.5 * (1 + pan)) * hat + tails[0]
    right = kick + np.sqrt(0.5 * (1 - pan)) * hat + tails[1]
    y = np.stack([left, right]).astype(np.float32)
    return 0.8 * y / np.max(np.abs(y))


def test_the_image_rebuilds_a_loops_width_and_pans_from_its_mid():
    y = drums(4 * TINY.n_samples, TINY.sr)
    settings = TINY.__class__(sr=TINY.sr, n_fft=TINY.n_fft, hop_length=TINY.hop_length, n_frames=1 + 4 * TINY.n_samples // TINY.hop_length)
    image = stereo.image_of(y, settings)
    assert image.shape == (2, stereo.n_bands(settings) + settings.n_bins, settings.n_frames) == stereo.image_shape(settings)
    bands, detail = stereo.split(image, settings)
    assert bands.shape == stereo.band_image_shape(settings) and np.abs(detail).max() <= stereo.MAX_DETAIL_DB + 1e-4
    mid, _ = stereo.mid_side(y)
    out = stereo.render(mid, image, settings)
    assert out.shape == y.shape
    assert stereo.side_to_mid_db(out) == pytest.approx(stereo.side_to_mid_db(y), abs=1.0)
    assert stereo.channel_correlation(out) == pytest.approx(stereo.channel_correlation(y), abs=0.05)
    assert stereo.channel_correlation(y) < 0.95  # wide enough that a mono rebuild would miss it
    assert np.linalg.norm(out.mean(axis=0) - mid) < 0.2 * np.linalg.norm(mid)  # the mid stays about the mid
    left_louder = np.sum(out[0] ** 2) > np.sum(out[1] ** 2)
    assert left_louder == (np.sum(y[0] ** 2) > np.sum(y[1] ** 2))


def test_the_details_bring_each_channel_nearer_bin_by_bin_and_an_image_of_bands_renders_as_before():
    y = drums(4 * TINY.n_samples, TINY.sr, room=0.6)
    settings = TINY.__class__(sr=TINY.sr, n_fft=TINY.n_fft, hop_length=TINY.hop_length, n_frames=1 + 4 * TINY.n_samples // TINY.hop_length)
    image = stereo.image_of(y, settings)
    bands, _ = stereo.split(image, settings)
    mid, _ = stereo.mid_side(y)
    detailed, banded = stereo.render(mid, image, settings), stereo.render(mid, bands, settings)
    lsd = lambda out: np.mean([audible_lsd(magnitude(y[c], settings), out[c], settings) for c in range(2)])  # noqa: E731
    assert lsd(detailed) < 0.7 * lsd(banded), (lsd(detailed), lsd(banded))
    assert stereo.side_to_mid_db(detailed) == pytest.approx(stereo.side_to_mid_db(y), abs=1.5)
    # zero details, or none: each channel is the mid at its bands' levels, as before details
    np.testing.assert_array_equal(stereo.render(mid, stereo.with_detail(bands, settings), settings), banded)
    with pytest.raises(ParameterError, match="image must have shape"):
        stereo.split(np.zeros((2, stereo.n_bands(settings) + 1, 4)), settings)


def test_a_hard_panned_sound_comes_back_in_one_channel_and_no_image_is_mono():
    hat = tone_burst(TINY.n_samples, TINY.sr, freq=1500, decay=0.02)
    y = np.stack([hat, np.zeros_like(hat)])  # all left
    image = stereo.image_of(y, TINY)
    out = stereo.render(stereo.mid_side(y)[0], image, TINY)
    assert np.sum(out[1] ** 2) < 0.01 * np.sum(out[0] ** 2)
    mid = stereo.mid_side(y)[0]
    assert stereo.render(mid, None, TINY) is mid or np.array_equal(stereo.render(mid, None, TINY), mid)
    with pytest.raises(ParameterError, match="image must have shape"):
        stereo.render(mid, np.zeros((2, 3, TINY.n_frames)), TINY)
    with pytest.raises(ParameterError, match=r"shape \(2, n\)"):
        stereo.mid_side(np.zeros((3, 10)))


def test_blends_give_each_end_at_its_weight_and_the_sides_level_in_db_between():
    a = np.random.default_rng(0).uniform(0.1, 1.0, stereo.image_shape(TINY)).astype(np.float32)
    b = np.random.default_rng(1).uniform(0.1, 1.0, stereo.image_shape(TINY)).astype(np.float32)
    blend = lambda images, weights, **kw: stereo.blend(images, weights, settings=TINY, **kw)  # noqa: E731
    np.testing.assert_allclose(blend([a, b], [1.0, 0.0]), a)
    np.testing.assert_array_equal(blend([a, None], [0.0, 1.0]), np.zeros_like(a))  # a mono end: no side
    assert blend([None, None], [0.5, 0.5]) is None
    k = stereo.n_bands(TINY)
    level_db = lambda im: 20 * np.log10(np.hypot(im[0, :k], im[1, :k]))  # noqa: E731
    np.testing.assert_allclose(level_db(blend([a, b], [0.25, 0.75])), 0.25 * level_db(a) + 0.75 * level_db(b), atol=1e-3)
    np.testing.assert_allclose(level_db(blend([a, None], [0.5, 0.5])), 0.5 * level_db(a) + 0.5 * -60, atol=1e-3)
    half = blend([a, b], [0.5, 0.5])
    assert np.all(np.abs(half[0, :k]) <= np.hypot(half[0, :k], half[1, :k]) + 1e-6) and np.all(half[1, :k] >= 0)
    np.testing.assert_allclose(half[:, k:], 0.5 * (a[:, k:] + b[:, k:]), rtol=1e-5)  # details, in dB already: as they are
    np.testing.assert_allclose(blend([a, None], [0.5, 0.5])[:, k:], 0.5 * a[:, k:], rtol=1e-5)
    old = blend([a[:, :k], b], [0.5, 0.5])  # an end of bands only (a folder before details): zero details
    np.testing.assert_allclose(old[:, k:], 0.5 * b[:, k:], rtol=1e-5)
    assert blend([a[:, :k], b[:, :k]], [0.5, 0.5]).shape == a[:, :k].shape
    per_frame = np.stack([np.linspace(1, 0, 31), np.linspace(0, 1, 31)], 1)  # a sweep of two loops
    frames = np.arange(31) % (TINY.n_frames - 1)
    swept = blend([a, b], per_frame, frames=frames)
    assert swept.shape == (2, a.shape[1], 31)
    np.testing.assert_allclose(swept[..., 0], a[..., 0], rtol=1e-5)
    np.testing.assert_allclose(swept[..., 30], b[..., frames[30]], rtol=1e-5)


def test_surround_files_fold_to_stereo_and_mono_files_stay_mono(tmp_path):
    n = TINY.n_samples
    six = np.zeros((n, 6), np.float32)
    six[:, 0] = tone_burst(n, TINY.sr, freq=300)  # front left only
    six[:, 3] = tone_burst(n, TINY.sr, freq=50)  # the LFE: left out
    sf.write(tmp_path / "surround.wav", six, TINY.sr, subtype="FLOAT")
    y, info = read_audio(tmp_path / "surround.wav", sr=TINY.sr, mono=False)
    assert y.shape == (2, n) and "folded 6 channels to stereo" in info.notes
    assert np.max(np.abs(y[1])) == 0 and np.max(np.abs(y[0])) > 0
    sf.write(tmp_path / "mono.wav", tone_burst(n, TINY.sr), TINY.sr)
    assert read_audio(tmp_path / "mono.wav", sr=TINY.sr, mono=False)[0].ndim == 1
    assert read_audio(tmp_path / "surround.wav", sr=TINY.sr)[0].ndim == 1  # mono=True: as before


@pytest.fixture(scope="module")
def stereo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stereo_loops")
    for k in range(4):
        y = drums(TINY.n_samples, TINY.sr, pan=(-0.8, -0.3, 0.3, 0.8)[k], room=0.2 + 0.1 * k, seed=k)
        sf.write(folder / f"Stereo {chr(65 + k)}.wav", y.T, TINY.sr, subtype="PCM_16")
    mono = tone_burst(TINY.n_samples, TINY.sr, freq=400, seed=7)
    sf.write(folder / "Mono E.wav", mono, TINY.sr, subtype="PCM_16")
    sf.write(folder / "Dual F.wav", np.stack([mono, mono], 1), TINY.sr, subtype="PCM_16")
    return folder


@pytest.fixture(scope="module")
def stereo_loops(stereo_folder, tmp_path_factory):
    return load_folder(stereo_folder, TINY, progress=False, cache=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def stereo_model(stereo_loops, tmp_path_factory):
    from morphlib.model.morphmodel import load_model
    from morphlib.training.trainer import train

    model_dir = str(tmp_path_factory.mktemp("stereo_models") / "m")
    train(stereo_loops, model_dir, epochs=2, preset="tiny", progress=False, verbose=False)
    return load_model(model_dir)


def test_a_folder_loads_stereo_loops_with_their_images_and_the_store_keeps_them(stereo_folder, stereo_loops, tmp_path):
    loops = stereo_loops
    stereo_names = [n for n, im in zip(loops.names, loops.images) if im is not None]
    assert stereo_names == ["Stereo A", "Stereo B", "Stereo C", "Stereo D"] and loops.stereo
    notes = {r["name"]: r["notes"] for r in loops.rows()}
    assert "two identical channels: loaded as mono" in notes["Dual F"] and "stereo (side" in notes["Stereo A"]
    i = loops.index("Stereo A")
    original, _ = read_audio(stereo_folder / "Stereo A.wav", sr=TINY.sr, mono=False)
    np.testing.assert_allclose(loops.y[i], original.mean(axis=0), atol=1e-6)  # y is the mid
    assert loops.stereo_y(i).shape == (2, TINY.n_samples) and loops.stereo_y(loops.index("Mono E")).ndim == 1
    again = load_folder(stereo_folder, TINY, progress=False, cache=str(tmp_path / "c"))  # analysed afresh
    cached = load_folder(stereo_folder, TINY, progress=False, cache=str(tmp_path / "c"), in_memory=False)  # from the store
    for k in range(len(loops)):
        assert (again.image(k) is None) == (cached.image(k) is None) == (loops.image(k) is None)
        if loops.image(k) is not None:
            np.testing.assert_allclose(cached.image(k), again.image(k), rtol=1e-6)
            assert cached.infos[k].stereo


def test_morphs_of_stereo_loops_are_stereo_and_keep_each_ends_width(stereo_model, stereo_loops):
    loops = stereo_loops
    ends = morph(stereo_model, "Stereo A", "Stereo D", [0.0, 0.5, 1.0], loops=loops, n_iter=4)
    assert all(m.y.shape == (2, TINY.n_samples - TINY.n_samples % TINY.hop_length) or m.y.shape[0] == 2 for m in ends)
    assert all(-40 < stereo.side_to_mid_db(m.y) < 0 for m in ends)  # (the widths themselves: the reconstruction's test)
    a_left = np.sum(ends[0].y[0] ** 2) < np.sum(ends[0].y[1] ** 2)  # A's hat is panned right
    d_left = np.sum(ends[2].y[0] ** 2) > np.sum(ends[2].y[1] ** 2)
    assert a_left and d_left
    mono = morph(stereo_model, "Mono E", "Dual F", 0.5, loops=loops, n_iter=4)
    assert mono.y.ndim == 1  # mono loops stay mono
    start, half = morph(stereo_model, "Stereo B", "Mono E", [0.0, 0.5], loops=loops, n_iter=4)
    assert half.y.ndim == 2 and stereo.side_to_mid_db(half.y) < stereo.side_to_mid_db(start.y) - 3  # half its side
    stretched = at_tempo(ends[1], 120, window_s=TINY.duration, bars=1)
    assert stretched.y.shape == (2, int(round(240 / 120 * TINY.sr)))


def test_the_pad_sweeps_and_the_crossfade_are_stereo_too(stereo_model, stereo_loops):
    corners = ["Stereo A", "Stereo B", "Stereo C", "Mono E"]
    assert morph_xy(stereo_model, corners, 0.3, 0.6, loops=stereo_loops, n_iter=2).y.shape[0] == 2
    swept = sweep(stereo_model, "Stereo A", "Stereo D", n_loops=3, loops=stereo_loops, n_iter=2)
    assert swept.y.ndim == 2 and swept.y.shape[1] == 3 * (TINY.n_frames - 1) * TINY.hop_length
    assert sweep_xy(stereo_model, corners, "0:0/0,2:1/1", loops=stereo_loops, n_iter=2).y.shape[0] == 2
    assert crossfade(stereo_loops, "Stereo A", "Stereo C", 0.5, n_iter=2).y.shape[0] == 2
    assert crossfade(stereo_loops, "Mono E", "Dual F", 0.5, n_iter=2).y.ndim == 1


def test_the_model_folder_keeps_the_images_so_morphs_by_name_are_stereo(stereo_model, stereo_loops, tmp_path, monkeypatch):
    from morphlib.model import folder
    from morphlib.model.folder import IMAGES, read_images
    from morphlib.model.morphmodel import load_model

    assert os.path.isfile(os.path.join(stereo_model.model_dir, IMAGES))
    by_name = morph(stereo_model, "Stereo C", "Stereo D", 0.5, n_iter=2)  # no loops: the folder's images
    with_loops = morph(stereo_model, "Stereo C", "Stereo D", 0.5, loops=stereo_loops, n_iter=2)
    # the folder keeps the details in the 4 bits the analysis gave them, the bands in float16 as the store
    np.testing.assert_allclose(by_name.y, with_loops.y, atol=2e-3)
    assert morph(stereo_model, "Mono E", "Dual F", 0.5, n_iter=2).y.ndim == 1
    kept, k = read_images(stereo_model.model_dir, TINY)["Stereo C"], stereo.n_bands(TINY)
    original = stereo_loops.image(stereo_loops.index("Stereo C"))
    np.testing.assert_allclose(kept, original, rtol=1e-3, atol=1e-3)
    import shutil

    damaged = shutil.copytree(stereo_model.model_dir, tmp_path / "damaged")
    with open(os.path.join(damaged, IMAGES), "r+b") as f:  # damaged: said, not misread
        f.seek(40)
        f.write(b"\xff" * 64)
    with pytest.raises(ModelFolderError, match=IMAGES):
        morph(load_model(damaged), "Stereo C", "Stereo D", 0.5, n_iter=2)
    import zipfile

    monkeypatch.setattr(folder, "MAX_IMAGES_BYTES", 256 * 2**20)  # not a GiB of zeros in a test
    bomb = shutil.copytree(stereo_model.model_dir, tmp_path / "bomb")  # a member that unpacks to 300 MiB of zeros
    with zipfile.ZipFile(os.path.join(bomb, IMAGES), "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("images.npy", bytes(300 * 2**20))
    assert os.path.getsize(os.path.join(bomb, IMAGES)) < 2**20
    with pytest.raises(ModelFolderError, match="would unpack to 300 MiB"):
        morph(load_model(bomb), "Stereo C", "Stereo D", 0.5, n_iter=2)
    linked = shutil.copytree(stereo_model.model_dir, tmp_path / "linked")
    os.remove(os.path.join(linked, IMAGES))
    os.symlink(os.path.join(stereo_model.model_dir, IMAGES), os.path.join(linked, IMAGES))
    with pytest.raises(ModelFolderError, match="is a link"):
        morph(load_model(linked), "Stereo C", "Stereo D", 0.5, n_iter=2)


def test_an_old_model_folder_without_images_loads_and_morphs_mono_as_before(tiny_model):
    from morphlib.sound.audio import prevent_clipping
    from morphlib.sound.spectral import griffin_lim

    assert tiny_model.stored_image("Loop A") is None
    m = morph(tiny_model, "Loop A", "Loop B", 0.5, n_iter=2)
    assert m.y.ndim == 1
    np.testing.assert_array_equal(m.y, prevent_clipping(griffin_lim(m.S, TINY, n_iter=2, seed=0)))  # bit for bit


def test_a_folder_whose_images_have_no_details_morphs_by_name_as_it_did(stereo_model, stereo_loops, tmp_path):
    """stereo.npz as morphlib wrote it before details: the bands alone, as float16."""
    import shutil

    from morphlib.model.folder import IMAGES, read_images
    from morphlib.model.morphmodel import load_model
    from morphlib.sound.audio import prevent_clipping
    from morphlib.sound.spectral import griffin_lim

    old = shutil.copytree(stereo_model.model_dir, tmp_path / "old")
    k = stereo.n_bands(TINY)
    with np.load(os.path.join(old, IMAGES)) as f:
        names, stamp, bands = f["names"], f["stamp"], f["images"]
    np.savez(os.path.join(old, IMAGES), names=names, stamp=stamp, images=bands)
    images = read_images(old, TINY)
    assert images["Stereo C"].shape == stereo.band_image_shape(TINY)
    m = morph(load_model(old), "Stereo C", "Stereo D", 0.5, n_iter=2)
    image = stereo.blend([images["Stereo C"], images["Stereo D"]], [0.5, 0.5], settings=TINY)
    assert image.shape[1] == k
    np.testing.assert_array_equal(m.y, prevent_clipping(stereo.render(griffin_lim(m.S, TINY, n_iter=2, seed=0), image, TINY)))


def test_a_stereo_morph_is_written_and_exported_as_two_channels(stereo_model, stereo_loops, tmp_path):
    from morphlib.sound.audio import write_wav
    from morphlib.ui.export import save_html, to_html

    m = morph(stereo_model, "Stereo A", "Stereo B", [0.0, 1.0], loops=stereo_loops, n_iter=2)
    path = write_wav(tmp_path / m[0].filename(), m[0].y, sr=m[0].sr, export_sr=44100)
    assert sf.info(path).channels == 2 and sf.info(path).samplerate == 44100
    import base64
    import io
    import re

    page = to_html(m)
    wavs = re.findall(r'"wav": "([A-Za-z0-9+/=]+)"', page)
    assert len(wavs) == 2 and all(sf.info(io.BytesIO(base64.b64decode(w))).channels == 2 for w in wavs)
    assert save_html(tmp_path / "m.html", m)[1] == len(page.encode("utf-8"))


def test_the_reconstruction_of_a_stereo_loop_is_near_each_channel(stereo_model, stereo_loops):
    i = stereo_loops.index("Stereo B")
    y = stereo_model.to_audio(stereo_loops.S[i], n_iter=16, image=stereo_loops.image(i))  # the mid's own magnitude
    original = stereo_loops.stereo_y(i)
    source, _ = read_audio(stereo_loops.infos[i].path, sr=TINY.sr, mono=False)
    for c in range(2):
        rebuilt_lsd = audible_lsd(magnitude(source[c], TINY), y[c], TINY)
        mono_lsd = audible_lsd(magnitude(source[c], TINY), stereo_loops.y[i], TINY)
        assert rebuilt_lsd < mono_lsd + 3.0
    assert stereo.channel_correlation(original) == pytest.approx(stereo.channel_correlation(source), abs=0.1)


def test_the_panel_plays_stereo_loops_in_stereo_and_its_paths_carry_both_channels(stereo_model, stereo_loops, tmp_path):
    pytest.importorskip("anywidget")
    from morphlib.ui.panel import MorphPanel
    from morphlib.ui.panel.player import pcm16
    from tests.frontend import FrontEnd

    page = FrontEnd()
    panel = page.run(MorphPanel, stereo_model, stereo_loops, export_dir=tmp_path / "exports", a="Stereo A", b="Stereo D",
                     c="Stereo B", d="Mono E", n_iter=2)
    assert panel.player.n_channels == 2 and panel.morph.y.shape[0] == 2
    assert len(panel.player.audio) == 2 * 2 * panel.morph.y.shape[1]  # 16-bit, interleaved
    assert sf.info(panel.save()).channels == 2
    sent = []
    panel.player.send = lambda content, buffers=None: sent.append((content, [bytes(b) for b in buffers or []]))
    for mode in ("ab", "xy"):
        if mode == "xy":
            page.choose(panel.mode, "XY pad")
        page.send(panel.player, {"type": "path", "key": panel.player.path_key, "restart": True})
        content, buffers = sent[-1]
        assert content["steps"] and all(step["channels"] == 2 for step in content["steps"])
        assert all(len(b) == 2 * 2 * panel.morph.y.shape[1] for b in buffers)
    i, j = stereo_loops.index("Stereo A"), stereo_loops.index("Stereo D")
    S = stereo_model.blend(panel.z[[i, j]], [[1.0, 0.0]])[0]
    y = stereo_model.to_audio(S, n_iter=2, seed=0, image=stereo.blend([stereo_loops.image(i), stereo_loops.image(j)], [1.0, 0.0]))
    first_ab = next(k for k, (c, _) in enumerate(sent) if c["steps"] and c["steps"][0]["point"] == [0.0])
    assert pcm16(y) == sent[first_ab][1][0]  # the α path's first step: A, in stereo


def test_loops_added_to_a_model_keep_their_images_and_the_old_ones_theirs(stereo_model, stereo_folder, tmp_path):
    import shutil

    from morphlib.model.folder import read_images
    from morphlib.training.newloops import add_loops

    model_dir = str(tmp_path / "m")
    shutil.copytree(stereo_model.model_dir, model_dir)
    folder = tmp_path / "more"
    shutil.copytree(stereo_folder, folder)
    y = drums(TINY.n_samples, TINY.sr, pan=0.9, room=0.5, seed=11)
    sf.write(folder / "Stereo G.wav", y.T, TINY.sr, subtype="PCM_16")
    for name in ("Stereo A", "Mono E"):  # loops the model knows, missing here: their images stay
        os.remove(folder / f"{name}.wav")
    model = add_loops(str(folder), model_dir, seconds=1.0, progress=False, verbose=False)
    assert model.added == ["Stereo G"]
    images = read_images(model_dir, TINY)
    assert {"Stereo A", "Stereo B", "Stereo G"} <= set(images) and "Mono E" not in images
    np.testing.assert_allclose(images["Stereo A"], read_images(stereo_model.model_dir, TINY)["Stereo A"])
    assert morph(model, "Stereo A", "Stereo G", 0.5, n_iter=2).y.shape[0] == 2


def test_mono_hears_stereo_loops_as_their_mid_from_the_folder_to_the_files(stereo_folder, stereo_loops, stereo_model, tmp_path):
    from morphlib.cli import main
    from morphlib.model.folder import IMAGES
    from morphlib.model.morphmodel import load_model

    mono = load_folder(stereo_folder, TINY, progress=False, cache=str(tmp_path / "cache"), mono=True)
    assert not mono.stereo and mono.image(0) is None and mono.stereo_images() == {}
    assert "stereo files heard in mono" in mono.summary() and "mono" not in stereo_loops.summary()
    np.testing.assert_array_equal(np.asarray(mono.y), np.asarray(stereo_loops.y))  # the same mid: the same model input
    assert crossfade(mono, "Stereo A", "Stereo B", 0.5).y.ndim == 1
    # A model trained on them keeps no images: its morphs by name are one channel.
    assert main(["train", str(stereo_folder), "--model", str(tmp_path / "m"), "--preset", "tiny", "--epochs", "1",
                 "--n-frames", str(TINY.n_frames), "--sr", str(TINY.sr), "--n-fft", str(TINY.n_fft),
                 "--hop-length", str(TINY.hop_length), "--mono"]) == 0
    assert not os.path.exists(tmp_path / "m" / IMAGES)
    # A stereo model heard in mono: no image from its folder, from the loops or from a file.
    flat = load_model(stereo_model.model_dir, mono=True)
    assert morph(flat, "Stereo C", "Stereo D", 0.5, n_iter=2).y.ndim == 1
    assert morph(flat, "Stereo C", "Stereo D", 0.5, loops=stereo_loops, n_iter=2).y.ndim == 1
    assert morph(flat, str(stereo_folder / "Stereo A.wav"), "Stereo D", 0.5, n_iter=2).y.ndim == 1
    assert sweep(flat, "Stereo A", "Stereo B", n_loops=1, n_iter=2).y.ndim == 1
    assert main(["morph", "--model", stereo_model.model_dir, "Stereo C", "Stereo D", "--n-iter", "2",
                 "--out", str(tmp_path / "flat.wav"), "--mono"]) == 0
    assert sf.info(tmp_path / "flat.wav").channels == 1
    assert main(["morph", "--model", stereo_model.model_dir, "Stereo C", "Stereo D", "--n-iter", "2",
                 "--out", str(tmp_path / "wide.wav")]) == 0
    assert sf.info(tmp_path / "wide.wav").channels == 2


def test_a_model_loaded_mono_plays_stereo_loops_in_one_channel_in_the_panel(stereo_model, stereo_loops, tmp_path):
    pytest.importorskip("anywidget")
    from morphlib.model.morphmodel import load_model
    from morphlib.ui.panel import MorphPanel
    from tests.frontend import FrontEnd

    panel = FrontEnd().run(MorphPanel, load_model(stereo_model.model_dir, mono=True), stereo_loops, export_dir=tmp_path / "exports",
                           a="Stereo A", b="Stereo D", n_iter=2)
    assert panel.player.n_channels == 1 and panel.morph.y.ndim == 1
    assert sf.info(panel.save()).channels == 1


def test_a_detail_is_kept_in_6_bits_a_frame_and_codes_pack_tight():
    from morphlib.codes import code_bins, decode_bins, pack_codes, packed_size, unpack_codes

    y = drums(TINY.n_samples, TINY.sr, room=0.6)
    _, detail = stereo.split(stereo.image_of(y, TINY), TINY)
    frames = detail.transpose(0, 2, 1)  # channels, frames, bins
    codes, low, step = code_bins(frames, bits=stereo.DETAIL_BITS)
    assert codes.dtype == np.uint8 and codes.shape == (2, TINY.n_frames, packed_size(TINY.n_bins, 6)) == (2, TINY.n_frames, 99)
    np.testing.assert_allclose(decode_bins(codes, low, step, TINY.n_bins, bits=6), frames, atol=1e-4)  # on the grid already
    assert all(len(np.unique(f)) <= 64 for f in frames.reshape(-1, TINY.n_bins))
    raw = np.random.default_rng(0).normal(0, 5, (3, 7, 9)).astype(np.float32)
    codes, low, step = code_bins(raw, bits=6)
    assert np.all(np.abs(decode_bins(codes, low, step, 9, bits=6) - raw) <= step[..., None] / 2 + 1e-5)
    for bits in (2, 3, 4, 6, 8):
        x = np.random.default_rng(bits).integers(0, 2**bits, (2, 11)).astype(np.uint8)
        assert pack_codes(x, bits).shape == (2, packed_size(11, bits)) and np.array_equal(unpack_codes(pack_codes(x, bits), bits, 11), x)
    with pytest.raises(ParameterError, match="bits must be one of"):
        pack_codes(x, 5)


def test_the_details_benchmark_tries_each_choice_and_puts_the_defaults_back(stereo_model, stereo_folder, tmp_path):
    import json
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    from stereo_details import main

    defaults = (stereo.CHANNEL_ITERATIONS, stereo.CHANNEL_COUPLING, stereo.DETAIL_FLOOR, stereo.DETAIL_BITS)
    main([stereo_model.model_dir, str(stereo_folder), "--loops", "2", "--iterations", "0", "--couplings", "1", "--floors", "0.1",
          "--bits", "8", "--json", str(tmp_path / "details.json")])
    rows = json.loads((tmp_path / "details.json").read_text())["rows"]
    assert [r["choice"] for r in rows] == ["the defaults", "bands only (before details)", "levels from the mid's own spectrum",
                                           "CHANNEL_ITERATIONS = 0", "CHANNEL_COUPLING = 1", "DETAIL_FLOOR = 0.1", "DETAIL_BITS = 8"]
    assert all(np.isfinite(r["lsd_db"]) and r["render_ms"] > 0 for r in rows)
    assert rows[0]["lsd_db"] != rows[1]["lsd_db"]  # the details change what is heard
    assert rows[0]["lsd_db"] != rows[2]["lsd_db"] != rows[4]["lsd_db"]  # so do where the levels come from and the coupling
    assert (stereo.CHANNEL_ITERATIONS, stereo.CHANNEL_COUPLING, stereo.DETAIL_FLOOR, stereo.DETAIL_BITS) == defaults


def test_a_channel_gets_fewer_iterations_after_fewer_for_the_mid_and_none_lays_the_levels_on():
    assert stereo.channel_iterations(32) == stereo.CHANNEL_ITERATIONS == stereo.channel_iterations(200)
    assert stereo.channel_iterations(16) == stereo.CHANNEL_ITERATIONS // 2 and stereo.channel_iterations(2) == 0
    y = drums(TINY.n_samples, TINY.sr, room=0.6)
    image, mid = stereo.image_of(y, TINY), stereo.mid_side(y)[0]
    assert not np.allclose(stereo.render(mid, image, TINY, iterations=0), stereo.render(mid, image, TINY, iterations=4))


def test_a_nearly_mono_loop_keeps_no_details_and_its_faint_side_stays_as_faint():
    y = drums(TINY.n_samples, TINY.sr, pan=0.02, room=0.005)
    assert stereo.side_to_mid_db(y) < stereo.DETAIL_MIN_SIDE_DB
    image = stereo.image_of(y, TINY)
    bands, detail = stereo.split(image, TINY)
    assert not np.any(detail)
    out = stereo.render(stereo.mid_side(y)[0], image, TINY)
    assert stereo.side_to_mid_db(out) == pytest.approx(stereo.side_to_mid_db(y), abs=1.5)


def test_the_channels_take_their_levels_from_the_magnitude_the_mid_was_rebuilt_from():
    y = drums(TINY.n_samples, TINY.sr, room=0.6)
    image, mid = stereo.image_of(y, TINY), stereo.mid_side(y)[0]
    own, twice = stereo.render(mid, image, TINY), stereo.render(mid, image, TINY, magnitude=2 * magnitude(mid, TINY))
    assert np.sqrt(np.mean(twice**2) / np.mean(own**2)) == pytest.approx(2.0, rel=0.01)
    with pytest.raises(ParameterError, match=r"magnitude must have shape \(129, 16\)"):
        stereo.render(mid, image, TINY, magnitude=magnitude(mid, TINY)[:, :8])


def test_coupled_channels_stay_as_alike_and_as_wide_as_the_image_says(monkeypatch):
    def errors():
        corr = side = 0.0
        for seed in range(3):
            y = drums(TINY.n_samples, TINY.sr, room=0.6, seed=seed)
            out = stereo.render(stereo.mid_side(y)[0], stereo.image_of(y, TINY), TINY)
            corr += abs(stereo.channel_correlation(out) - stereo.channel_correlation(y[:, : out.shape[1]]))
            side += abs(stereo.side_to_mid_db(out) - stereo.side_to_mid_db(y))
        return corr, side

    coupled = errors()
    monkeypatch.setattr(stereo, "CHANNEL_COUPLING", 0.0)  # each channel iterating alone drifts from the other
    alone = errors()
    assert coupled[0] < 0.7 * alone[0] and coupled[1] < 0.7 * alone[1]


def _flat_image(pan, width, n_frames=16):
    """An image of TINY's shape with the same pan and width in every band and frame, no details."""
    image = np.zeros(stereo.image_shape(TINY)[:2] + (n_frames,), np.float32)
    k = stereo.n_bands(TINY)
    image[0, :k], image[1, :k] = pan, width
    return image


def test_a_blend_weighs_each_end_by_its_level_where_levels_are_given():
    k = stereo.n_bands(TINY)
    narrow, wide = _flat_image(0.0, 0.1), _flat_image(0.0, 1.0)
    loud = np.ones((k, 16), np.float32)
    quiet_late = loud.copy()
    quiet_late[:, 8:] = 0.0  # the narrow end is silent in its last 8 frames (the wide one's tail rings on)
    plain = stereo.blend([narrow, wide], [0.5, 0.5], settings=TINY)
    weighed = stereo.blend([narrow, wide], [0.5, 0.5], settings=TINY, levels=[quiet_late, loud])
    np.testing.assert_allclose(plain[1, :k], np.sqrt(0.1), rtol=1e-5)  # the widths' mean in dB, everywhere
    np.testing.assert_allclose(weighed[1, :k, :8], np.sqrt(0.1), rtol=1e-5)  # both as loud: as before
    np.testing.assert_allclose(weighed[1, :k, 8:], 1.0, rtol=1e-4)  # only the wide end sounds: its width
    silent = np.zeros_like(loud)
    np.testing.assert_allclose(stereo.blend([narrow, wide], [0.5, 0.5], settings=TINY, levels=[silent, silent]), plain, rtol=1e-5)
    per_frame = stereo.blend([narrow, wide], np.full((32, 2), 0.5, np.float32), settings=TINY, levels=[quiet_late, loud])
    np.testing.assert_allclose(per_frame[1, :k], np.tile(weighed[1, :k], 2), rtol=1e-5)  # a sweep's frames go round the loop
    bands_only = [stereo.split(im, TINY)[0] for im in (narrow, wide)]  # a model folder of before details: blended as then
    np.testing.assert_array_equal(stereo.blend(bands_only, [0.5, 0.5], settings=TINY, levels=[quiet_late, loud]),
                                  stereo.blend(bands_only, [0.5, 0.5], settings=TINY))


def test_band_levels_are_a_mids_band_energies_over_their_mean():
    S = np.ones((TINY.n_bins, 16), np.float32)
    S[:, 8:] = 0.0
    levels = stereo.band_levels(np.stack([S, 3 * S]), TINY)
    assert levels.shape == (2, stereo.n_bands(TINY), 16)
    np.testing.assert_allclose(levels[0], levels[1], rtol=1e-5)  # a level over the loop's own mean
    assert np.all(levels[0][:, 8:] == 0) and np.all(levels[0][:, :8] > 0)


def test_a_morph_weighs_its_ends_images_by_the_ends_decoded_levels(stereo_model, stereo_loops, monkeypatch):
    from morphlib.morphing import morphs

    seen = []
    original = morphs.blend_images
    monkeypatch.setattr(morphs, "blend_images", lambda *a, **kw: seen.append(kw.get("levels")) or original(*a, **kw))
    morph(stereo_model, "Stereo A", "Stereo B", 0.5, loops=stereo_loops, n_iter=2)
    ends = [stereo_loops.index(name) for name in ("Stereo A", "Stereo B")]
    z = np.stack([stereo_model.encode(stereo_loops.S[i], fit=0)[0] for i in ends])  # as morph takes them
    np.testing.assert_allclose(seen[0], stereo.band_levels(stereo_model.decode(z), TINY), rtol=1e-4, atol=1e-6)
