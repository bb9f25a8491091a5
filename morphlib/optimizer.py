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

from .backend import keras_tf_tfp

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

    def _backend_apply_gradients(self, grads, trainable_variables):
        # Which gradients the factored update clips itself, inside its fused step (one pass
        # over a bank fewer than Keras' clipping; a strategy's replicas clip as Keras does).
        strategy = tf.distribute.has_strategy()
        self._clipped_inside = None if strategy else [self._clips_inside(v) for v in trainable_variables]
        try:
            return super()._backend_apply_gradients(grads, trainable_variables)
        finally:
            self._clipped_inside = None

    def _clip_gradients(self, grads):
        inside = getattr(self, "_clipped_inside", None)
        if not (self.clipnorm and inside and len(inside) == len(grads)):  # a strategy's replicas: Keras' clipping
            return super()._clip_gradients(grads)
        # Keras clips each gradient with a handful of ops; for a model's dozen small
        # variables that cost 15 ms a step on 2 cores (studio44), fused by XLA almost nothing.
        at = [k for k, (g, skip) in enumerate(zip(grads, inside)) if g is not None and not skip]
        clipped = list(grads)
        if at:
            for k, c in zip(at, _clip_each(tuple(grads[k] for k in at), tf.constant(self.clipnorm, tf.float32))):
                clipped[k] = c
        return clipped

    def _clips_inside(self, variable):
        return (bool(self.clipnorm) and self._get_variable_index(variable) in getattr(self, "_factored_at", ())
                and not tf.distribute.has_strategy())

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
        clipnorm = self.clipnorm if self._clips_inside(variable) else 0.0
        w, r, c = _factored_update(  # tensors, not variables: a trace must not hold on to one model's variables
            tf.cast(gradient, dtype), tf.convert_to_tensor(variable), tf.convert_to_tensor(row), tf.convert_to_tensor(col),
            tf.cast(learning_rate, dtype), tf.cast(self.beta_2, dtype), tf.cast(self.iterations + 1, dtype),
            tf.cast(self.epsilon, dtype), tf.cast(clipnorm, dtype),
        )
        self.assign(row, r)
        self.assign(col, c)
        self.assign(variable, w)

    def get_config(self):
        return {**super().get_config(), "factored": list(self.factored)}

    def _fusable(self, gradient, variable):
        return not (self.amsgrad or isinstance(gradient, tf.IndexedSlices) or tf.distribute.has_strategy())


@tf.function(jit_compile=True)
def _factored_update(g, w, row, col, lr, beta_2, step, epsilon, clipnorm):
    """Adafactor's step without momentum, fused by XLA: the second moment is never made
    whole, each weight's step is its gradient times a row's and a column's factor. A
    ``clipnorm`` > 0 first clips the gradient to that norm, as Keras' ``clipnorm`` does."""
    g2 = tf.square(g)
    row_g2, col_g2 = tf.reduce_mean(g2, axis=1, keepdims=True), tf.reduce_mean(g2, axis=0, keepdims=True)
    # The norm from the rows' means, and the clipped gradient's means from the raw ones
    # scaled: no pass over the bank beyond the unclipped step's two.
    norm = tf.sqrt(tf.reduce_sum(row_g2) * tf.cast(tf.shape(g)[1], g.dtype))
    clip = tf.where((clipnorm > 0) & (norm > clipnorm), clipnorm / tf.maximum(norm, 1e-30), tf.ones_like(norm))
    row = beta_2 * row + (1 - beta_2) * (tf.square(clip) * row_g2 + 1e-30)
    col = beta_2 * col + (1 - beta_2) * (tf.square(clip) * col_g2 + 1e-30)
    g = g * clip
    scale = tf.sqrt(tf.reduce_mean(row) * (1 - tf.pow(beta_2, step)))  # v = row col / mean(row), bias-corrected
    a = lr * scale * tf.math.rsqrt(row + epsilon ** 2)
    b = tf.math.rsqrt(col + epsilon ** 2)
    return w - a * g * b, row, col


@tf.function(jit_compile=True)
def _clip_each(grads, clipnorm):
    """Each gradient scaled to a norm of at most ``clipnorm``, as Keras' ``clipnorm`` does."""
    out = []
    for g in grads:
        norm = tf.sqrt(tf.reduce_sum(tf.square(tf.cast(g, tf.float32))))
        scale = tf.where(norm > clipnorm, clipnorm / tf.maximum(norm, 1e-30), 1.0)
        out.append(g * tf.cast(scale, g.dtype))
    return out


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
