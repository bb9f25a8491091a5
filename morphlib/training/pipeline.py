"""tf.data pipelines that feed training: shuffled every epoch, batched, prefetched.

Keras' own path for NumPy arrays slices a batch out of the whole array at every step;
reading examples one by one into ``batch`` and prefetching the next batch while the
current one trains is 1.5x faster per epoch on 2 CPU cores (the tutorial preset, 74 loops,
float32: 0.62 → 0.39 s measured by hand with ``fit`` alone; 0.47 s inside ``train``, whose
bench.py figure includes the model folder's checkpoints).
"""

import dataclasses

import numpy as np

from ..model.backend import keras_tf_tfp
from ..config import check_augmentation
from ..data.store import is_stored


def training_dataset(S, *, batch_size, seed=0, full_batches=False, augment=None):
    """Examples of ``S`` in a new order every epoch, in batches, the next one prepared ahead.

    Parameters
    ----------
    S : np.ndarray or StoredArray [shape=(n, n_bins, n_frames), dtype=float32]
        Magnitudes, one per loop. A StoredArray is streamed from the on-disk store: each
        batch is read when it is needed (while the previous one trains), so memory does
        not grow with the number of loops.
    batch_size : int > 0
    seed : int >= 0
        Seeds the order; the same seed gives the same order for every epoch sequence.
    full_batches : bool
        False: an epoch is one pass, its last batch holds what is left, as in
        ``Model.fit(x, batch_size=...)`` (the tutorial's). True: the passes run on
        without end, each in a new order, cut into full batches (fit with
        ``steps_per_epoch=steps_per_epoch(n, batch_size)``). On CPU a batch of another
        size every epoch makes about a third of the epochs twice as slow (oneDNN).
    augment : Augmentation or None
        Altered copies of the loops in place of the loops (``Augmentation``); None or
        one that alters nothing: the loops as they are.

    Returns
    -------
    dataset : tf.data.Dataset
        Of ``float32 [shape=(<= batch_size, n_bins, n_frames)]`` batches.
    """
    _, tf, _ = keras_tf_tfp()
    n = len(S)
    order = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if full_batches:
        order = order.repeat()
    stored = is_stored(S)
    if stored:
        batches = _streamed(S, order, batch_size=batch_size, drop_remainder=full_batches)
    else:
        examples = tf.constant(S, dtype=tf.float32)
        # One example per map call, then batch: a gather of a whole batch is slower on CPU.
        batches = order.map(lambda i: examples[i]).batch(batch_size, drop_remainder=full_batches)
    if augment is not None and augment.alters:
        # apply has no Python control flow on tensors: autograph need not (and cannot) convert it
        batches = batches.map(tf.autograph.experimental.do_not_convert(lambda x: augment.apply(x, seed=seed)))
    return batches.prefetch(2 if stored else tf.data.AUTOTUNE)  # a stored set: two batches ahead


def _streamed(S, order, *, batch_size, drop_remainder):
    """Batches of loop indices → the magnitudes read from the store, two batches ahead."""
    _, tf, _ = keras_tf_tfp()

    def read_coded(indices):
        return S.read(indices, dtype=np.float16)

    def read(indices):
        # the store's float16, converted here: NumPy's conversion costs a stream a tenth of an epoch
        batch = tf.numpy_function(read_coded if S.part == "S" else S.read, [indices], tf.float16 if S.part == "S" else tf.float32,
                                  stateful=False)
        return tf.cast(tf.ensure_shape(batch, (None, *S.shape[1:])), tf.float32)

    return order.batch(batch_size, drop_remainder=drop_remainder).map(read)


def steps_per_epoch(n, batch_size):
    """Batches per epoch with ``full_batches``: as many as one pass would have."""
    return -(-n // batch_size)


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Altered copies of a batch of loops, new every step: other levels, starts and kits.

    Parameters
    ----------
    gain_db : float >= 0
        Each loop's level moves by up to this many dB either way (uniform).
    shift : int >= 0
        Each loop starts up to this many frames earlier or later (circularly: a loop
        goes round).
    mix : float in [0, 1]
        Share of the loops that are mixed with another loop of the batch at a random
        balance (power sum of the two magnitudes: two kits played together).
    """

    gain_db: float = 0.0
    shift: int = 0
    mix: float = 0.0

    def __post_init__(self):
        check_augmentation(self.gain_db, self.shift, self.mix, what="augmentation: ")

    @classmethod
    def of(cls, preset):
        """The augmentation a ``Preset`` asks for."""
        return cls(gain_db=preset.augment_gain_db, shift=int(preset.augment_shift), mix=preset.augment_mix)

    @property
    def alters(self):
        return bool(self.gain_db or self.shift or self.mix)

    def apply(self, x, *, seed=0):
        """``x [shape=(batch, n_bins, n_frames)]`` altered, each loop on its own draw."""
        _, tf, _ = keras_tf_tfp()
        n = tf.shape(x)[0]
        if self.mix:
            other = tf.random.shuffle(tf.range(n), seed=seed)
            share = tf.random.uniform((n, 1, 1), 0.0, 1.0, seed=seed + 1)
            mixed = tf.random.uniform((n, 1, 1), seed=seed + 2) < self.mix
            blend = tf.sqrt((1 - share) * tf.square(x) + share * tf.square(tf.gather(x, other)))
            x = tf.where(mixed, blend, x)
        if self.shift:
            x = tf.map_fn(lambda a: tf.roll(a[0], a[1], axis=1),
                          (x, tf.random.uniform((n,), -self.shift, self.shift + 1, dtype=tf.int32, seed=seed + 3)),
                          fn_output_signature=x.dtype)
        if self.gain_db:
            db = tf.random.uniform((n, 1, 1), -self.gain_db, self.gain_db, seed=seed + 4)
            x = x * tf.pow(10.0, db / 20.0)
        return x
