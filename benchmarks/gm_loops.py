"""Loops of real recorded drums for the benchmarks: sequenced here, played by FluidSynth.

Debian's ``fluid-soundfont-gm`` (FluidR3 GM) holds sampled drum kits — recordings of real
drums. This module writes 2-bar drum patterns at 140 BPM as MIDI files (kick, snare with
ghost notes, closed and open hats, claps, toms, cymbals, shakers; random velocities and
slight timing and kit variety), renders each with the ``fluidsynth`` command into a 44.1
kHz stereo WAV, and trims it to the two bars. The audio is made by the benchmark, never
committed.

    python benchmarks/gm_loops.py OUT_DIR [--n 74] [--seed 0]

Needs ``apt-get install fluidsynth fluid-soundfont-gm``. Other kit sets (``KIT_SETS``), for
checking on kits a benchmark was not tuned on: ``timgm6mb`` (``apt-get install
timgm6mb-soundfont``: TimGM6mb's eight GM kits) and ``avl`` (``apt-get install
avldrums.lv2-soundfont``: the AVL Drumkits' Black Pearl and Red Zeppelin, multi-sampled
acoustic kits).
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")
BPM, BARS, STEPS_PER_BEAT, TPQ = 140.0, 2, 4, 480
#: GM drum kits (bank 128 programs) that FluidR3 GM holds.
KITS = (0, 8, 16, 24, 25, 32, 40)
KICK, SNARE, RIM, CLAP, CLOSED, PEDAL, OPEN, CRASH, RIDE, TAMB, SHAKER = 36, 38, 37, 39, 42, 44, 46, 49, 51, 54, 70
TOMS = (41, 43, 45, 47, 48, 50)


def find_soundfont():
    """Path of FluidR3 GM, or None."""
    return next((p for p in SOUNDFONTS if os.path.exists(p)), None)


SF2 = "/usr/share/sounds/sf2"
#: Kit sets: name → (their Debian package, [(label, soundfont, program, drum channel), ...]).
#: GM soundfonts hold their kits as programs of the drum channel's bank; the AVL kits are
#: one preset each, played on an ordinary channel with GM's drum notes.
KIT_SETS = {
    "fluidr3": ("fluid-soundfont-gm", [(f"GM Kit {k:02d}", "FluidR3_GM.sf2", k, True) for k in KITS]),
    "timgm6mb": ("timgm6mb-soundfont", [(f"TimGM Kit {k:02d}", "TimGM6mb.sf2", k, True) for k in (0, 8, 16, 24, 25, 32, 40, 48)]),
    "avl": ("avldrums.lv2-soundfont", [("AVL Black Pearl", "Black_Pearl_4_LV2.sf2", 0, False),
                                       ("AVL Red Zeppelin", "Red_Zeppelin_4_LV2.sf2", 0, False)]),
}


def kit_set(name):
    """The kits of ``KIT_SETS[name]`` with their soundfonts' paths; SystemExit saying what to
    install when a soundfont or FluidSynth is missing."""
    package, kits = KIT_SETS[name]
    found = [(label, find_soundfont() if font == "FluidR3_GM.sf2" else os.path.join(SF2, font), program, drums)
             for label, font, program, drums in kits]
    if shutil.which("fluidsynth") is None or any(path is None or not os.path.exists(path) for _, path, _, _ in found):
        raise SystemExit(f"needs FluidSynth and the {name} kits: apt-get install fluidsynth {package}")
    return found


def pattern(rng, *, bars=BARS):
    """One pattern of ``bars`` bars: a list of (step, note, velocity) on a 16th-note grid."""
    steps = bars * 4 * STEPS_PER_BEAT
    hits = []
    kick_style = rng.integers(3)
    for s in range(steps):
        beat_pos = s % 4
        if kick_style == 0 and beat_pos == 0:  # four on the floor
            hits.append((s, KICK, rng.integers(100, 128)))
        elif kick_style == 1 and (s % 16 in (0, 6, 10) or (s % 16 == 11 and rng.random() < 0.5)):  # broken
            hits.append((s, KICK, rng.integers(90, 128)))
        elif kick_style == 2 and (s % 16 in (0, 3, 8) or rng.random() < 0.06):
            hits.append((s, KICK, rng.integers(90, 125)))
        if s % 8 == 4:  # backbeat
            hits.append((s, SNARE if rng.random() < 0.8 else CLAP, rng.integers(95, 127)))
        elif rng.random() < 0.12:  # ghost notes
            hits.append((s, SNARE, rng.integers(18, 45)))
    hat = rng.integers(3)
    for s in range(steps):
        if hat == 0 and s % 2 == 0 or hat == 1 or hat == 2 and s % 4 == 2:
            accent = 100 if s % 4 == 0 else 70 if s % 2 == 0 else 45
            hits.append((s, CLOSED, int(np.clip(accent + rng.integers(-15, 16), 20, 127))))
        if s % 4 == 2 and rng.random() < 0.35:
            hits.append((s, OPEN, rng.integers(60, 110)))
    extra = rng.choice([RIDE, SHAKER, TAMB, RIM, None])
    if extra is not None:
        for s in range(0, steps, 2):
            if rng.random() < 0.6:
                hits.append((s, int(extra), rng.integers(35, 90)))
    if rng.random() < 0.5:
        hits.append((0, CRASH, rng.integers(80, 120)))
    if rng.random() < 0.5:  # a tom fill at the end
        for s, tom in zip(range(steps - 4, steps), rng.choice(TOMS, 4)):
            hits.append((s, int(tom), rng.integers(70, 120)))
    return hits


def midi_file(hits, *, kit, swing, rng, bpm=BPM, drums=True, reverb=None):
    """A type-0 Standard MIDI File (bytes) playing ``hits`` with program ``kit`` on the drum
    channel (``drums``), else on the first channel; ``reverb``: the channel's reverb send
    (controller 91, 0-127; None: the synthesizer's default), how much room the kit plays in."""
    on, off, program = (0x99, 0x89, 0xC9) if drums else (0x90, 0x80, 0xC0)
    ticks_per_step = TPQ // STEPS_PER_BEAT
    events = []
    for step, note, vel in hits:
        t = step * ticks_per_step + (int(swing * ticks_per_step) if step % 2 else 0) + int(rng.integers(-6, 7))
        t = max(t, 0)
        events.append((t, on, note, int(vel)))
        events.append((t + ticks_per_step // 2, off, note, 0))
    events.sort()
    track = bytearray()
    track += b"\x00\xff\x51\x03" + int(60_000_000 / bpm).to_bytes(3, "big")  # tempo
    track += b"\x00" + bytes([program, kit])  # drum kit
    if reverb is not None:
        track += b"\x00" + bytes([0xB0 | (on & 0x0F), 91, int(reverb)])  # the reverb send
    now = 0
    for t, status, note, vel in events:
        track += _varlen(t - now) + bytes([status, note, vel])
        now = t
    track += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, TPQ) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _varlen(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def render(midi_path, wav_path, soundfont, *, sr=44100, bpm=BPM, bars=BARS, room=None):
    """Play a MIDI file through FluidSynth into a WAV file (stereo: the kits pan their
    drums), trimmed to its whole bars. ``room``: FluidSynth's reverb room size (0-1; None:
    its default), for a stereo corpus with rooms of several sizes."""
    import soundfile as sf

    tmp = wav_path + ".full.wav"
    options = ["-o", f"synth.reverb.room-size={room}", "-o", "synth.reverb.width=1"] if room is not None else []
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", str(sr), *options, "-F", tmp, soundfont, midi_path],
                   check=True, capture_output=True)
    y, sr = sf.read(tmp, always_2d=True)
    os.remove(tmp)
    n = int(round(bars * 4 * 60 / bpm * sr))
    y = y[:n] if len(y) >= n else np.pad(y, ((0, n - len(y)), (0, 0)))
    peak = np.max(np.abs(y)) or 1.0
    sf.write(wav_path, (y / peak * 0.89).astype(np.float32), sr, subtype="PCM_16")


def gm_loops(out_dir, *, n=74, seed=0, rooms=False):
    """Write ``n`` recorded-drum loops into ``out_dir`` (kept if there already); return their
    paths. ``rooms``: each loop in a room of its own (``ROOMS``: reverb sends and room
    sizes from dry to a large room), the stereo benchmark's corpus."""
    soundfont = find_soundfont()
    if soundfont is None or shutil.which("fluidsynth") is None:
        raise SystemExit("needs FluidSynth and FluidR3 GM: apt-get install fluidsynth fluid-soundfont-gm")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(n):
        kit, swing = int(rng.choice(KITS)), float(rng.choice([0.0, 0.0, 0.1, 0.2]))
        path = os.path.join(out_dir, f"GM Kit {kit:02d} Loop {k:03d}.wav")
        hits = pattern(rng)
        reverb, room = ROOMS[k % len(ROOMS)] if rooms else (None, None)
        midi = midi_file(hits, kit=kit, swing=swing, rng=rng, reverb=reverb)
        if not os.path.exists(path):
            mid = path[:-4] + ".mid"
            with open(mid, "wb") as f:
                f.write(midi)
            render(mid, path, soundfont, room=room)
            os.remove(mid)
        paths.append(path)
    return paths


#: Rooms of the stereo corpus: (reverb send 0-127, FluidSynth's room size 0-1), dry to large.
ROOMS = ((0, 0.2), (40, 0.2), (70, 0.5), (100, 0.7), (127, 0.9))


#: The mixed-tempo corpus (benchmarks/tempo.py): tempos and lengths a producer's library holds.
MIXED_BPM, MIXED_BARS = (90.0, 175.0), (1, 2, 4)


#: Corpora of ``mixed_tempo_loops`` besides the mixed one: where tempo octaves are hard to
#: hear (breaks at 160-180 BPM, 1-bar grooves at 88-112).
TEMPO_CORPORA = {"mixed": (MIXED_BPM, MIXED_BARS), "fast": ((160.0, 180.0), (1, 2, 4)), "slow1": ((88.0, 112.0), (1,))}


def mixed_tempo_loops(out_dir, *, n=40, seed=0, sr=44100, kits="fluidr3", corpus="mixed", rooms=False):
    """Write ``n`` recorded-drum loops at tempos from 90 to 175 BPM, of 1, 2 and 4 bars,
    every other one with its tempo in the file name, played by the kits of ``KIT_SETS[kits]``;
    kept if there already. ``corpus``: another range of tempos and lengths (``TEMPO_CORPORA``).
    ``rooms``: each loop in a room of its own (``ROOMS``), as ``gm_loops`` puts them.

    Returns
    -------
    loops : list of dict
        ``path``, ``bpm``, ``bars``, ``named`` (the tempo is in the name) of each file.
    """
    chosen = kit_set(kits)
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng([seed, 22])
    styles = ("{kit} Loop {k:03d} {bpm:g}bpm", "{kit}_{bpm:g}_BPM_loop{k:03d}", "loop{k:03d}-{bpm:g}-{kit}",
              "{kit} {bpm:g} BPM {k:03d}")
    out = []
    for k in range(n):
        label, soundfont, kit, drums = chosen[int(rng.integers(len(chosen)))]
        swing = float(rng.choice([0.0, 0.0, 0.1, 0.2]))
        bpm = float(round(rng.uniform(*TEMPO_CORPORA[corpus][0])))
        bars = int(rng.choice(TEMPO_CORPORA[corpus][1]))
        named = k % 2 == 0
        stem = styles[(k // 2) % len(styles)].format(kit=label, k=k, bpm=bpm) if named else f"{label} Loop {k:03d}"
        path = os.path.join(out_dir, stem + ".wav")
        hits = pattern(rng, bars=bars)
        reverb, room = ROOMS[k % len(ROOMS)] if rooms else (None, None)
        midi = midi_file(hits, kit=kit, swing=swing, rng=rng, bpm=bpm, drums=drums, reverb=reverb)
        if not os.path.exists(path):
            mid = path[:-4] + ".mid"
            with open(mid, "wb") as f:
                f.write(midi)
            render(mid, path, soundfont, sr=sr, bpm=bpm, bars=bars, room=room)
            os.remove(mid)
        out.append({"path": path, "bpm": bpm, "bars": bars, "named": named})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--n", type=int, default=74)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"{len(gm_loops(args.out_dir, n=args.n, seed=args.seed))} loops in {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
