"""Adam in one fused kernel per variable.

Keras 3's Adam updates each variable with about ten separate TensorFlow ops, each a
pass over the variable and its two moments. On a CPU that costs more than the model's
own arithmetic once a layer holds millions of weights: 43 ms per step for 14.6 M
weights against 14 ms for TensorFlow's fused ``ApplyAdam`` kernel, which computes the
same update in one pass. ``FusedAdam`` is Keras' Adam with that kernel; it keeps
Keras' variables, so checkpoints, ``LossScaleOptimizer`` and the learning-rate schedule
work unchanged.

Factored moments for the detail bank: Adam keeps two moments the size of every weight,
and the bank has 14.6 M of them (29 M at 44.1 kHz), so that a checkpoint, which must hold
Adam's state to resume, is three banks big. For the variables named in ``factored`` the
update is Adafactor's (Shazeer & Stern 2018) without momentum: the second moment of a
matrix kept as one mean per row and one per column, their outer product over their mean
standing in for the whole (the presets clip gradients instead of Adafactor's updates). A
bank's gradient is close to rank one (a loop's mixing weight times the error in a cell),
which is the case this approximation fits. The state is then a row and a column instead
of two banks, and the step, fused by XLA, costs about what the fused Adam's does
(``benchmarks/bank_step.py``: 13.8 against 12.1 ms for the studio bank on 2 AMD EPYC
cores; the same update in TensorFlow's ops, unfused, took 32 ms).
"""

from ..model.backend import keras_tf_tfp

keras, tf, _ = keras_tf_tfp()


@keras.saving.register_keras_serializable(package="morphlib")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose update runs as TensorFlow's fused ``ApplyAdam``.

    The update is Keras' own: ``m ← β₁ m + (1 − β₁) g``, ``v ← β₂ v + (1 − β₂) g²``,
    ``w ← w − lr √(1 − β₂ᵗ) / (1 − β₁ᵗ) · m / (√v + ε)``. It falls back to Keras' ops
    for AMSGrad, sparse gradients and variables placed by a distribution strategy
    (whose per-device copies the fused kernel does not know).
    """

    def __init__(self, *args, factored=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.factored = tuple(factored)

    def is_factored(self, variable):
        """Whether ``variable`` (a matrix whose path contains one of ``factored``) gets the
        factored update."""
        return len(variable.shape) == 2 and any(name in variable.path for name in self.factored)

    def build(self, var_list):
        if self.built or not any(self.is_factored(v) for v in var_list):
            return super().build(var_list)
        keras.optimizers.Optimizer.build(self, var_list)
        self._momentums, self._velocities = [], []
        self._factored_at = {i for i, v in enumerate(var_list) if self.is_factored(v)}
        for v in var_list:  # in the places Keras' Adam keeps m and v: a row's and a column's mean of g²
            shapes = ((v.shape[0], 1), (1, v.shape[1])) if self.is_factored(v) else (v.shape, v.shape)
            for kept, shape, name in zip((self._momentums, self._velocities), shapes, ("momentum", "velocity")):
                kept.append(self.add_variable(shape, initializer="zeros", dtype=v.dtype,
                                              name=f"{v.path.replace('/', '_')}_{name}"))

    def update_step(self, gradient, variable, learning_rate):
        if self._get_variable_index(variable) in getattr(self, "_factored_at", ()):
            return self._factored_step(gradient, variable, learning_rate)
        if not self._fusable(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(m), v=_handle(v),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
            use_locking=False,
        )

    def _factored_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        row, col = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        w, r, c = _factored_update(  # tensors, not variables: a trace must not hold on to one model's variables
            tf.cast(gradient, dtype), tf.convert_to_tensor(variable), tf.convert_to_tensor(row), tf.convert_to_tensor(col),
            tf.cast(learning_rate, dtype), tf.cast(self.beta_2, dtype), tf.cast(self.iterations + 1, dtype),
            tf.cast(self.epsilon, dtype),
        )
        self.assign(row, r)
        self.assign(col, c)
        self.assign(variable, w)

    def get_config(self):
        return {**super().get_config(), "factored": list(self.factored)}

    def _fusable(self, gradient, variable):
        return not (self.amsgrad or isinstance(gradient, tf.IndexedSlices) or tf.distribute.has_strategy())


@tf.function(jit_compile=True)
def _factored_update(g, w, row, col, lr, beta_2, step, epsilon):
    """Adafactor's step without momentum, fused by XLA: the second moment is never made
    whole, each weight's step is its gradient times a row's and a column's factor."""
    g2 = tf.square(g) + 1e-30
    row = beta_2 * row + (1 - beta_2) * tf.reduce_mean(g2, axis=1, keepdims=True)
    col = beta_2 * col + (1 - beta_2) * tf.reduce_mean(g2, axis=0, keepdims=True)
    scale = tf.sqrt(tf.reduce_mean(row) * (1 - tf.pow(beta_2, step)))  # v = row col / mean(row), bias-corrected
    a = lr * scale * tf.math.rsqrt(row + epsilon ** 2)
    b = tf.math.rsqrt(col + epsilon ** 2)
    return w - a * g * b, row, col


def _handle(variable):
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def make_optimizer(preset, precision="float32"):
    """Adam at the preset's learning rate (fused; clipped if the preset says so), with loss
    scaling for float16.

    Parameters
    ----------
    preset : Preset
    precision : {"float32", "mixed_bfloat16", "mixed_float16"}
    """
    factored = ("detail_bank",) if preset.detail_moments == "factored" else ()
    optimizer = FusedAdam(learning_rate=preset.learning_rate, clipnorm=preset.clipnorm or None, factored=factored,
                          weight_decay=preset.weight_decay or None)
    return keras.optimizers.LossScaleOptimizer(optimizer) if precision == "mixed_float16" else optimizer
