"""Where the snare falls: a loop's tempo octave read from its pattern.

A beat tracker hears a drum loop's pulse but not which level of it is the beat: a 2-bar
break at 170 BPM is also a 1-bar loop at 85, and a 1-bar groove at 95 also 2 bars at 190.
Both readings make the file whole bars, so its length cannot tell them apart. The pattern
can: in the drum loops a producer's library holds, the snare (or clap) hits beats 2 and 4
of the bar — the backbeat — while the kick holds beat 1. Read an octave too slow, those
snares land on off-beats; read an octave too fast, on beat 3 alone. So each reading is
scored by how much more the snare's bands set in on its beats 2 and 4 than on the bar's
other beats and eighths, and a reading far from 120 BPM pays for its distance.

Read twice too fast, a loop's snare falls on beat 3 of each half-length bar and its open
hats make a backbeat of their own, so in the snare's body band a reading's backbeat must
also beat its beat 3 (``HALF_TIME_BANDS``). Measured by ``benchmarks/tempo.py --kits`` on
loops of kits it was not tuned on (docs/data.md).
"""

import math

import numpy as np

#: The bands (Hz) whose onsets stand for the snare: its body, under the hats and above most
#: of the kick, and its crack, under most of the hats' energy; a reading's score is the
#: geometric mean of theirs (chosen on FluidR3's kits among 150-1500, 150-600, 300-1000,
#: 600-3000 Hz and pairs of them: the electronic kits' snares need the second band).
SNARE_BANDS = ((180.0, 400.0), (600.0, 3000.0))
#: What a reading pays per octave from ``CENTRE_BPM``, against the log of its backbeat score.
OCTAVE_COST = 1.0
CENTRE_BPM = 120.0
#: Sixteenths of a 4/4 bar: where the backbeat falls (beats 2 and 4), and the rest of the bar
#: it is weighed against (beats 1 and 3, and the eighths between the beats).
BACKBEAT_STEPS = (4, 12)
OTHER_STEPS = (0, 8, 2, 6, 10, 14)
#: Read at twice its tempo, a loop's snares on 2 and 4 fall on beat 3 of each (half-length)
#: bar, and its open hats on the eighths between on 2 and 4: a backbeat of hats. So in the
#: snare's body band (under the hats) a reading's backbeat must also beat beat 3 alone
#: (sixteenth 8), not only the bar's average (chosen on FluidR3's kits: 1-bar loops at
#: 88-112 BPM 151 -> 159 of 160 found, 160-180 BPM 159 -> 156, the mixed corpus 158 -> 159,
#: draws 0-3, named and unnamed files read from the audio alike).
HALF_TIME_BANDS = (0,)
HALF_TIME_STEP = 8


def snare_onsets(y, *, sr):
    """Onset strength of each of ``SNARE_BANDS``: the positive change of its log energy per frame.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0

    Returns
    -------
    envelopes : np.ndarray [shape=(len(SNARE_BANDS), frames)]
    hop_length : int
        Samples per frame (about 11.6 ms).
    """
    import librosa

    n_fft = min(int(2 ** round(math.log2(0.046 * sr))), max(64, len(y)))
    hop = n_fft // 4
    S = np.abs(librosa.stft(np.asarray(y, np.float32), n_fft=n_fft, hop_length=hop))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    bands = np.stack([np.log1p(100 * S[(freqs >= lo) & (freqs < hi)].sum(axis=0)) for lo, hi in SNARE_BANDS])
    return np.maximum(0.0, np.diff(bands, axis=1, prepend=bands[:, :1])), hop


def backbeat(envelopes, bpm, *, duration, sr, hop_length):
    """How much more ``envelopes`` set in on beats 2 and 4 than elsewhere, at ``bpm``.

    Parameters
    ----------
    envelopes : np.ndarray [shape=(bands, frames)] or [shape=(frames,)]
        From ``snare_onsets``.
    bpm : float > 0
    duration : float > 0
        The loop's seconds, taken to start on a downbeat.
    sr, hop_length : int

    Returns
    -------
    score : float or None
        Per band, the mean onset on the bar's sixteenths 4 and 12 over that on 0, 8 and the
        eighths between (the bars averaged; in ``HALF_TIME_BANDS`` over beat 3's alone where
        it is more); the geometric mean over the bands. None when
        ``duration`` is not whole bars at ``bpm`` (within 4 %) or a band has no onsets.
    """
    step = 60.0 / bpm / 4
    steps = int(round(duration / step))
    if steps < 16 or steps % 16 or abs(steps * step - duration) > 0.04 * duration:
        return None
    frames = np.round(np.arange(steps) * step * sr / hop_length).astype(int)
    scores = []
    for band, envelope in enumerate(np.atleast_2d(envelopes)):
        # the hit's onset within a frame before to two after its step (swing, a loose hand)
        at = np.array([envelope[max(0, f - 1) : f + 3].max() if f < len(envelope) else 0.0 for f in frames])
        bar = at.reshape(-1, 16).mean(axis=0)
        other = bar[list(OTHER_STEPS)].mean()
        if band in HALF_TIME_BANDS:  # a snare on beat 3 alone: the bar is half a bar (read twice too fast)
            other = max(other, bar[HALF_TIME_STEP])
        if not other > 0:
            return None
        scores.append(max(bar[list(BACKBEAT_STEPS)].mean() / other, 1e-3))
    return float(np.exp(np.mean(np.log(scores))))


def pick_octave(y, bpm, *, sr, low=60.0, high=200.0):
    """Of ``bpm``, half and twice it (those within ``low``–``high``), the reading whose
    backbeat is clearest, a reading far from 120 BPM paying ``OCTAVE_COST`` per octave.

    Returns
    -------
    bpm : float
        ``bpm`` itself when it is the best, or no other reading makes the loop whole bars.
    """
    envelope, hop = snare_onsets(y, sr=sr)
    scores = octave_scores(envelope, bpm, duration=len(y) / sr, sr=sr, hop_length=hop, low=low, high=high)
    if 1.0 not in scores:
        return bpm
    return bpm * max(scores, key=scores.get)


def octave_scores(envelopes, bpm, *, duration, sr, hop_length, low=60.0, high=200.0):
    """``{factor: score}`` of the readings ``bpm × factor`` (factor 0.5, 1, 2; those within
    ``low``–``high`` that make the loop whole bars): the log of the backbeat score less
    ``OCTAVE_COST`` per octave from ``CENTRE_BPM``; the highest wins."""
    scores = {}
    for factor in (0.5, 1.0, 2.0):
        if low <= bpm * factor <= high:
            score = backbeat(envelopes, bpm * factor, duration=duration, sr=sr, hop_length=hop_length)
            if score is not None:
                scores[factor] = math.log(score) - OCTAVE_COST * abs(math.log2(bpm * factor / CENTRE_BPM))
    return scores
