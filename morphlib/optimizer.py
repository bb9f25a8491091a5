"""Adam in one fused kernel per variable.

Keras 3's Adam updates each variable with about ten separate TensorFlow ops, each a
pass over the variable and its two moments. On a CPU that costs more than the model's
own arithmetic once a layer holds millions of weights: 43 ms per step for 14.6 M
weights against 14 ms for TensorFlow's fused ``ApplyAdam`` kernel, which computes the
same update in one pass. ``FusedAdam`` is Keras' Adam with that kernel; it keeps
Keras' variables, so checkpoints, ``LossScaleOptimizer`` and the learning-rate schedule
work unchanged.
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

    def update_step(self, gradient, variable, learning_rate):
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

    def _fusable(self, gradient, variable):
        return not (self.amsgrad or isinstance(gradient, tf.IndexedSlices) or tf.distribute.has_strategy())


def _handle(variable):
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle
