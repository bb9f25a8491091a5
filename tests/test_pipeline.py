import numpy as np
import pytest

from morphlib.config import PRESETS
from morphlib.errors import ParameterError
from morphlib.training.pipeline import Augmentation, steps_per_epoch, training_dataset


def _loops(n=6, n_bins=5, n_frames=8):
    rng = np.random.default_rng(0)
    return rng.uniform(0.1, 1.0, (n, n_bins, n_frames)).astype(np.float32)


def _batches(dataset, k):
    return [b.numpy() for _, b in zip(range(k), dataset)]


def test_an_epoch_holds_every_loop_once():
    S = _loops()
    got = np.concatenate(_batches(training_dataset(S, batch_size=4), 2))
    assert got.shape == S.shape
    assert sorted(map(float, got[:, 0, 0])) == sorted(map(float, S[:, 0, 0]))


def test_full_batches_run_on_in_batches_of_one_size():
    batches = _batches(training_dataset(_loops(), batch_size=4, full_batches=True), 5)
    assert {b.shape[0] for b in batches} == {4} and steps_per_epoch(6, 4) == 2


def test_gain_moves_whole_loops_within_its_range():
    S = _loops()
    got = np.concatenate(_batches(training_dataset(S, batch_size=6, augment=Augmentation(gain_db=6.0)), 1))
    ratios = []
    for x in got:  # each altered loop is one original times one factor
        i = int(np.argmin([np.ptp(x / s) for s in S]))
        r = x / S[i]
        assert np.ptp(r) < 1e-5
        ratios.append(float(r.mean()))
    db = 20 * np.log10(ratios)
    assert np.all(np.abs(db) <= 6.0 + 1e-4) and np.ptp(db) > 0.5


def test_shift_turns_loops_round_in_time():
    S = _loops()
    got = np.concatenate(_batches(training_dataset(S, batch_size=6, augment=Augmentation(shift=2)), 4))
    shifts = []
    for x in got:
        found = [(i, k) for i, s in enumerate(S) for k in range(-2, 3) if np.array_equal(np.roll(s, k, axis=1), x)]
        assert found, "an altered loop is not a circular shift of an original by at most 2 frames"
        shifts.append(found[0][1])
    assert len(set(shifts)) > 1


def test_mix_is_a_power_sum_of_two_loops():
    S = _loops()
    x = np.concatenate(_batches(training_dataset(S, batch_size=6, augment=Augmentation(mix=1.0)), 1))
    energy = np.square(x).sum(axis=(1, 2))
    lo, hi = np.square(S).sum(axis=(1, 2)).min(), np.square(S).sum(axis=(1, 2)).max()
    assert np.all(energy >= lo * (1 - 1e-4)) and np.all(energy <= hi * (1 + 1e-4))
    assert sum(not any(np.allclose(a, s) for s in S) for a in x) >= 1  # (a loop may draw itself)


@pytest.mark.parametrize("kwargs, ok", [
    ({}, True), ({"gain_db": 3.0, "shift": 2, "mix": 0.5}, True),
    ({"gain_db": -1.0}, False), ({"shift": 1.5}, False), ({"shift": -1}, False), ({"mix": 1.5}, False),
])
def test_augmentation_checks_its_values(kwargs, ok):
    if ok:
        assert Augmentation(**kwargs).alters == bool(kwargs)
    else:
        with pytest.raises(ParameterError, match="augmentation"):
            Augmentation(**kwargs)


def test_presets_say_their_augmentation():
    assert not Augmentation.of(PRESETS["tutorial"]).alters
