"""The tutorial's pipeline as published (Keras 2 style: tf_keras + tfp.layers), for comparison.

Run by ``benchmarks/bench.py`` in its own process: it needs ``TF_USE_LEGACY_KERAS=1`` for
tfp.layers and ``TF_ENABLE_ONEDNN_OPTS=0``, without which its Conv2D over all 1025
frequency bins aborts the process under oneDNN. Reads ``x.npy`` (n, 1025, 148), trains,
and prints one JSON object.
"""

import json
import os
import resource
import sys
import time

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402
import tf_keras as tfk  # noqa: E402

tfpl, tfd = tfp.layers, tfp.distributions


def build(n_bins, n_frames, latent=16, hidden=256):
    s2 = 4 if n_frames % 4 == 0 else 1
    s1 = n_frames // s2
    prior = tfd.Independent(tfd.Normal(loc=tf.zeros(latent), scale=1.0), reinterpreted_batch_ndims=1)
    encoder = tfk.Sequential([
        tfk.layers.InputLayer(input_shape=(n_bins, n_frames, 1)),
        tfk.layers.Conv2D(hidden, (n_bins, 1), activation="relu"),
        tfk.layers.Conv2D(hidden, (1, s1), strides=(1, s1), activation="relu"),
        tfk.layers.Conv2D(hidden, (1, s2), strides=(1, s2), activation="relu"),
        tfk.layers.Flatten(),
        tfk.layers.Dense(tfpl.MultivariateNormalTriL.params_size(latent)),
        tfpl.MultivariateNormalTriL(latent, activity_regularizer=tfpl.KLDivergenceRegularizer(prior, weight=0.001)),
    ])
    decoder = tfk.Sequential([
        tfk.layers.InputLayer(input_shape=[latent]),
        tfk.layers.Dense(hidden, activation="relu"),
        tfk.layers.Reshape((1, 1, hidden)),
        tfk.layers.Conv2DTranspose(hidden, (1, s2), strides=(1, s2), activation="relu"),
        tfk.layers.Conv2DTranspose(hidden, (1, s1), strides=(1, s1), activation="relu"),
        tfk.layers.Conv2DTranspose(1, (n_bins, 1), activation="relu"),
    ])
    vae = tfk.Model(inputs=encoder.inputs, outputs=decoder(encoder.outputs[0]))
    vae.compile(optimizer=tfk.optimizers.Adam(), loss="mse", metrics=["mse"])
    return encoder, decoder, vae


def cosine_mean(encoder, decoder, x):
    r = decoder(encoder(x).mean()).numpy().reshape(len(x), -1)
    f = x.reshape(len(x), -1)
    num = np.sum(r * f, axis=1)
    den = np.linalg.norm(r, axis=1) * np.linalg.norm(f, axis=1)
    return float(np.mean(np.where(den > 0, num / np.maximum(den, 1e-30), 0.0)))


class Clock(tfk.callbacks.Callback):
    def __init__(self, encoder, decoder, x):
        super().__init__()
        self.encoder, self.decoder, self.x = encoder, decoder, x
        self.seconds, self.curve, self.elapsed = [], [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self.t0
        self.seconds.append(dt)
        self.elapsed += dt
        if epoch + 1 == self.params["epochs"]:  # only its final quality is compared with
            self.curve.append([self.elapsed, cosine_mean(self.encoder, self.decoder, self.x)])


def main():
    x_path, epochs = sys.argv[1], int(sys.argv[2])
    x = np.load(x_path)[..., np.newaxis]
    tf.keras.utils.set_random_seed(0)
    encoder, decoder, vae = build(x.shape[1], x.shape[2])
    clock = Clock(encoder, decoder, x)
    vae.fit(x, x, epochs=epochs, batch_size=16, verbose=0, callbacks=[clock])
    print(json.dumps({
        "n_params": int(vae.count_params()),
        "epoch_seconds": clock.seconds,
        "curve": clock.curve,
        "cosine_mean": clock.curve[-1][1],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
