"""What was tried for ``add_loops`` besides its frozen encoder (``addloops.py --variants``).

The addition freezes the encoder, so that the loops the model knows keep their latents.
These are the other ways tried to keep them, each with the encoder trained, each an
addition of the same seconds from a copy of one trained model:

- ``encoder-trained``: the encoder trained too (the addition's default before);
- ``ema``: ... and the weights written at the end their running average (decay ``EMA``);
- ``pulled``: ... every weight pulled ``PULL`` of the way back to the model before after each step;
- ``adam-old-state``: ... Adam's moments and step count taken from the folder's last
  checkpoint (the model's own run) instead of fresh;
- ``frozen-patterns``: ... the detail bank's most used patterns (as many as the old loops;
  used: the mean |mixing weight| over the old loops' latents) held as they were;
- ``replay-drift``: ... the old loops of each batch drawn by how far their error has risen
  since the start (measured again after every epoch of the addition).
"""

import contextlib

import numpy as np

VARIANTS = ("encoder-trained", "ema", "pulled", "adam-old-state", "frozen-patterns", "replay-drift")
EMA = 0.99
PULL = 0.001


def check(names):
    """``names`` if each is a variant, else SystemExit naming the one that is not."""
    from common import known

    return known(names, VARIANTS, "variant")


@contextlib.contextmanager
def addition_variant(name, loops, old_names):
    """While inside, ``add_loops`` trains the encoder too and does ``name``; yields the
    callbacks to hand it (a step counter first: ``callbacks[0].steps``)."""
    import morphlib.training.newloops as newloops

    saved = newloops._trainable_copy, newloops.mixed_batches
    old = np.sort([loops.names.index(n) for n in old_names])  # in the order of add_loops' known loops
    callbacks = [_callback("steps")]

    def trained_copy(folder, meta, seed):
        from morphlib.model.folder import read_state, restore_checkpoint
        from morphlib.training.optimizer import make_optimizer

        vae, recipe, precision = saved[0](folder, meta, seed)
        vae.encoder.trainable = True
        vae.compile(optimizer=make_optimizer(meta["preset"], precision))
        if name == "adam-old-state":
            best, state = vae.get_weights(), read_state(folder)
            restore_checkpoint(vae, state["weights_path"], state.get("layout", {}))
            vae.set_weights(best)  # the checkpoint's moments, the best model's weights
        return vae, recipe, precision

    newloops._trainable_copy = trained_copy
    if name in ("ema", "pulled", "frozen-patterns"):
        callbacks.append(_callback(name, loops=loops, old=old))
    if name == "replay-drift":
        drift = _callback("drift", loops=loops, old=old)
        callbacks.append(drift)
        newloops.mixed_batches = lambda vae, loops, fresh, known, **kw: _drift_batches(loops, fresh, known, drift, **kw)
    try:
        yield callbacks
    finally:
        newloops._trainable_copy, newloops.mixed_batches = saved


def _callback(kind, loops=None, old=None):
    from morphlib.model.backend import keras_callback_base, keras_tf_tfp

    _, tf, _ = keras_tf_tfp()
    Callback = keras_callback_base()

    class Steps(Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

    class Averaged(Callback):
        def on_train_begin(self, logs=None):
            self.kept = [tf.Variable(tf.identity(v)) for v in self.model.trainable_variables]

        def on_train_batch_end(self, batch, logs=None):
            for k, v in zip(self.kept, self.model.trainable_variables):
                k.assign(EMA * k + (1 - EMA) * tf.cast(v, k.dtype))

        def on_train_end(self, logs=None):
            for k, v in zip(self.kept, self.model.trainable_variables):
                v.assign(k)

    class Pulled(Averaged):
        def on_train_batch_end(self, batch, logs=None):
            for k, v in zip(self.kept, self.model.trainable_variables):
                v.assign_sub(PULL * (v - k))

        def on_train_end(self, logs=None):
            pass

    class FrozenPatterns(Callback):
        def on_train_begin(self, logs=None):
            vae = self.model
            z = vae.encode(np.asarray(loops.S[old], np.float32))
            use = np.abs(np.asarray(_mixing(vae, z))).mean(axis=0)
            self.rows = np.argsort(use)[::-1][: len(old)].reshape(-1, 1)
            self.bank = vae.decoder.get_layer("detail_bank").patterns
            self.held = tf.gather(self.bank, self.rows[:, 0])

        def on_train_batch_end(self, batch, logs=None):
            self.bank.assign(tf.tensor_scatter_nd_update(self.bank, self.rows, self.held))

    class Drift(Callback):
        weights = np.full(len(old), 1 / len(old)) if old is not None else None  # until the first epoch ends

        def on_train_begin(self, logs=None):
            self.start = self.errors()

        def on_epoch_end(self, epoch, logs=None):
            risen = np.maximum(self.errors() - self.start, 0) + 1e-3 * self.start.mean()
            self.weights = risen / risen.sum()

        def errors(self):
            vae = self.model
            x = np.asarray(loops.S[old], np.float32)
            y = np.concatenate([np.asarray(vae(x[i : i + 16])) for i in range(0, len(x), 16)])
            return np.mean(np.square(np.asarray(vae.compress(x)) - np.asarray(vae.compress(y))), axis=(1, 2))

    return {"steps": Steps, "ema": Averaged, "pulled": Pulled, "frozen-patterns": FrozenPatterns, "drift": Drift}[kind]()


def _mixing(vae, z):
    """The detail bank's mixing weights of latents ``z``: ``(loops, slots)``."""
    from morphlib.model.backend import keras_tf_tfp

    keras = keras_tf_tfp()[0]
    d = vae.decoder
    return keras.Model(d.inputs, d.get_layer("detail_weights").output)(z)


def _drift_batches(loops, fresh, known, drift, *, batch, clock, seed=0):
    """``newloops.mixed_batches`` with the encoder trained, its old loops drawn by ``drift.weights``
    (over ``old``, which are ``known``)."""
    from morphlib.model.backend import keras_tf_tfp
    from morphlib.training.newloops import new_in_batch

    _, tf, _ = keras_tf_tfp()
    rng = np.random.default_rng(seed)
    if len(known) != len(drift.weights):
        raise SystemExit(f"replay-drift: the addition knows {len(known)} old loops, the benchmark {len(drift.weights)}")

    def batches():
        while True:
            n_new = batch if not known else new_in_batch(batch, clock.fraction())
            idx = np.concatenate([rng.choice(fresh, n_new), rng.choice(known, batch - n_new, p=drift.weights) if known else []])
            yield np.asarray(loops.S[np.sort(idx.astype(int))], np.float32)

    return tf.data.Dataset.from_generator(batches, output_signature=tf.TensorSpec((batch, *loops.S.shape[1:]), tf.float32))
