"""Batch normalization, the notes' algorithm [002 §17-18], as a drop-in for Keras's layer.

Introduced in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_bool, check_fraction, check_int, check_one_of, check_positive
from tfcourse.layers._common import IMPLEMENTATIONS, check_axis, statistics_dtype

# FusedBatchNormV3 (and cuDNN behind it) needs epsilon >= 1e-5; tf.nn.fused_batch_norm raises
# smaller values to 1.001e-5, which would change the result, so those go to the reference path.
_FUSED_MIN_EPSILON = 1.001e-5
_FUSED_DTYPES = (tf.float16, tf.bfloat16, tf.float32)
_RENORM_KEYS = ("rmax", "rmin", "dmax")


def batch_norm_train(x, gamma, beta, axes, epsilon, all_sum=None):
    """Training-mode batch normalization with the hand-derived backward pass. Lesson L06.

        mean = sum(x) / m;  var = sum((x - mean) ** 2) / m;  x_hat = (x - mean) / sqrt(var + eps)
        y = gamma * x_hat + beta
        backward: dbeta = sum(dy); dgamma = sum(dy * x_hat)
                  dx = gamma / sqrt(var + eps) * (dy - dbeta / m - x_hat * dgamma / m)

    `gamma` and `beta` are broadcastable to `x` (1 on every axis in `axes`). `all_sum` adds a
    tensor over replicas (synchronized BN); the statistics and the sums of the backward pass then
    cover the global batch, while dgamma and dbeta stay this replica's share, as autodiff gives.
    Returns (y, mean, var), mean and var with the reduced axes kept; no gradient flows through
    mean and var (they feed the moving averages only).
    """
    all_sum = all_sum or (lambda t: t)
    channels_shape = tf.shape(gamma)

    @tf.custom_gradient
    def normalize(x, gamma, beta):
        local_count = tf.cast(tf.size(x), x.dtype) / tf.cast(tf.reduce_prod(channels_shape), x.dtype)
        sums = all_sum(tf.concat([tf.reshape(local_count, [1]),
                                  tf.reshape(tf.reduce_sum(x, axes), [-1])], 0))
        m = sums[0]
        mean = tf.reshape(sums[1:], channels_shape) / m
        centered = x - mean
        var = tf.reshape(all_sum(tf.reshape(tf.reduce_sum(tf.square(centered), axes), [-1])), channels_shape) / m
        inv_std = tf.math.rsqrt(var + epsilon)
        x_hat = centered * inv_std

        def backward(dy, unused_dmean, unused_dvar):
            dbeta = tf.reduce_sum(dy, axes, keepdims=True)
            dgamma = tf.reduce_sum(dy * x_hat, axes, keepdims=True)
            global_sums = all_sum(tf.stack([tf.reshape(dbeta, [-1]), tf.reshape(dgamma, [-1])]))
            mean_dy = tf.reshape(global_sums[0], channels_shape) / m
            mean_dy_x_hat = tf.reshape(global_sums[1], channels_shape) / m
            dx = gamma * inv_std * (dy - mean_dy - x_hat * mean_dy_x_hat)
            return dx, dgamma, dbeta

        return (gamma * x_hat + beta, mean, var), backward

    y, mean, var = normalize(x, gamma, beta)
    return y, tf.stop_gradient(mean), tf.stop_gradient(var)


@keras.saving.register_keras_serializable(package="tfcourse")
class BatchNormalization(keras.layers.Layer):
    """Batch normalization written out from the notes. Introduced in lesson L06.

    Training (`training=True` and `layer.trainable`), over every axis except `axis`:

        mean = sum(x) / m                              # m = examples * positions per channel
        var  = sum((x - mean) ** 2) / m                # biased batch variance
        x_hat = (x - mean) / sqrt(var + epsilon)
        y = gamma * x_hat + beta                       # "reconstruction": scale and shift
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_var  = moving_var  * momentum + var  * (1 - momentum)

    Inference (`training` False/None, or `trainable=False` as in Keras):

        y = gamma * (x - moving_mean) / sqrt(moving_var + epsilon) + beta

    A drop-in for `keras.layers.BatchNormalization`: same arguments and defaults (`axis`,
    `momentum`, `epsilon`, `center`, `scale`, initializers, regularizers, constraints, `renorm*`,
    `synchronized` = statistics all-reduced across `tf.distribute` replicas), masks (masked
    positions left out of the statistics), float16/bfloat16 inputs computed in float32.

    Backward pass, derived by hand (the notes leave it "to be filled in"); with
    dy = dL/dy and sums over the m values of one channel:

        dbeta  = sum(dy)
        dgamma = sum(dy * x_hat)
        dx     = gamma / sqrt(var + epsilon) * (dy - dbeta / m - x_hat * dgamma / m)

    from the chain rule through mean and var: dmean/dx_i = 1/m, dvar/dx_i = 2 (x_i - mean) / m,
    and d(1/sqrt(var + eps))/dvar = -(var + eps)^(-3/2) / 2. The training reference path uses
    this as its `tf.custom_gradient` (see `batch_norm_train`); with `synchronized=True` the
    two sums and m run over every replica's batch. With a mask or with renorm the reference
    path keeps TF's autodiff (a masked count carries Keras's epsilon, which the closed form
    above leaves out).

    Two paths, equal to ~1e-6: the reference path is the pseudo-code above with TF ops (float64,
    masks, renorm, synchronized statistics, any rank/axis); when the inputs allow it
    (`implementation="auto"`, 4-D float16/bfloat16/float32, channels on axis 1 or 3, no mask, no
    renorm, epsilon >= 1.001e-5, statistics not synchronized across several replicas) the layer
    calls TF's fused batch-norm kernel, which computes the same thing in one pass.
    `implementation="reference"` forces the reference path.
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        implementation="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = check_int("axis", axis)
        self.momentum = float(check_fraction("momentum", momentum))
        self.epsilon = float(check_positive("epsilon", epsilon))
        self.center = check_bool("center", center)
        self.scale = check_bool("scale", scale)
        self.synchronized = check_bool("synchronized", synchronized)
        self.renorm = check_bool("renorm", renorm)
        self.renorm_momentum = float(check_fraction("renorm_momentum", renorm_momentum))
        self.implementation = check_one_of("implementation", implementation, IMPLEMENTATIONS)
        if renorm:
            renorm_clipping = dict(renorm_clipping or {})
            unknown = set(renorm_clipping) - set(_RENORM_KEYS)
            if unknown:
                raise ValueError(
                    f"`renorm_clipping` keys must be among {_RENORM_KEYS}. "
                    f"Received: renorm_clipping={renorm_clipping}"
                )
            rmax, rmin, dmax = (renorm_clipping.get(k) for k in _RENORM_KEYS)
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(f"`rmax` must be >= `rmin`. Received: renorm_clipping={renorm_clipping}")
            if dmax is not None and dmax < 0:
                raise ValueError(f"`dmax` must be >= 0. Received: renorm_clipping={renorm_clipping}")
        self.renorm_clipping = renorm_clipping
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_mean_initializer = keras.initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = keras.initializers.get(moving_variance_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        ndim = len(input_shape)
        axis = check_axis("axis", self.axis, ndim)
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(
                f"Axis {self.axis} of the input must have a known size. Received: input_shape={input_shape}"
            )
        shape = (channels,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False,
            )
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
            trainable=False, autocast=False,
        )
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer,
            trainable=False, autocast=False,
        )
        if self.renorm:
            variance_init = self.moving_variance_initializer

            def stddev_init(shape, dtype=None):
                return tf.sqrt(variance_init(shape, dtype=dtype))

            self.moving_stddev = self.add_weight(
                shape=shape, name="moving_stddev", initializer=stddev_init, trainable=False, autocast=False
            )
            self.renorm_mean = self.add_weight(
                shape=shape, name="renorm_mean", initializer=self.moving_mean_initializer,
                trainable=False, autocast=False,
            )
            self.renorm_stddev = self.add_weight(
                shape=shape, name="renorm_stddev", initializer=stddev_init, trainable=False, autocast=False
            )
        self._axis = axis
        self._reduction_axes = [i for i in range(ndim) if i != axis]
        self.input_spec = keras.layers.InputSpec(ndim=ndim, axes={axis: channels})

    def compute_output_shape(self, input_shape):
        check_axis("axis", self.axis, len(input_shape))
        return tuple(input_shape)

    # ------------------------------------------------------------------ call
    def call(self, inputs, training=None, mask=None):
        if mask is not None and len(mask.shape) != len(inputs.shape) - 1:
            raise ValueError(
                "The mask must have one dimension less than the inputs. "
                f"Received: mask.shape={mask.shape}, inputs.shape={inputs.shape}"
            )
        training = bool(training) and self.trainable  # trainable=False means inference, as in Keras
        if self._use_fused(inputs, mask, training):
            outputs = self._fused_call(inputs, training)
        else:
            outputs = self._reference_call(inputs, training, mask)
        return tf.cast(outputs, self.compute_dtype)

    def _use_fused(self, inputs, mask, training):
        if self.implementation != "auto" or mask is not None or self.renorm:
            return False
        if inputs.shape.rank != 4 or self._axis not in (1, 3) or inputs.dtype not in _FUSED_DTYPES:
            return False
        if self.epsilon < _FUSED_MIN_EPSILON:
            return False
        return not (training and self.synchronized and tf.distribute.get_replica_context() is not None
                    and tf.distribute.get_strategy().num_replicas_in_sync > 1)

    def _gamma_beta(self, dtype, channels_like):
        gamma = tf.cast(self.gamma, dtype) if self.scale else tf.ones_like(channels_like, dtype)
        beta = tf.cast(self.beta, dtype) if self.center else tf.zeros_like(channels_like, dtype)
        return gamma, beta

    def _update_moving(self, mean, variance):
        momentum = self.momentum
        self.moving_mean.assign(tf.cast(self.moving_mean, mean.dtype) * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(
            tf.cast(self.moving_variance, variance.dtype) * momentum + variance * (1.0 - momentum)
        )

    def _fused_call(self, inputs, training):
        """The same computation through TF's fused kernel (one op, forward and backward)."""
        data_format = "NHWC" if self._axis == 3 else "NCHW"
        moving_mean = tf.cast(self.moving_mean, tf.float32)
        moving_variance = tf.cast(self.moving_variance, tf.float32)
        gamma, beta = self._gamma_beta(tf.float32, moving_mean)
        if not training:
            outputs, *_ = tf.raw_ops.FusedBatchNormV3(
                x=inputs, scale=gamma, offset=beta, mean=moving_mean, variance=moving_variance,
                epsilon=self.epsilon, data_format=data_format, is_training=False,
            )
            return outputs
        empty = tf.constant([], tf.float32)
        outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=gamma, offset=beta, mean=empty, variance=empty,
            epsilon=self.epsilon, data_format=data_format, is_training=True,
        )
        # The kernel reports the unbiased variance sum / (m - 1); the notes (and Keras) keep sum / m.
        m = tf.cast(tf.size(inputs, out_type=tf.int64) // tf.cast(tf.shape(mean)[0], tf.int64), tf.float32)
        variance = variance * tf.where(m > 1.0, (m - 1.0) / tf.maximum(m, 1.0), 1.0)
        self._update_moving(mean, variance)
        return outputs

    def _reference_call(self, inputs, training, mask):
        """The notes' algorithm, op by op."""
        dtype = statistics_dtype(inputs.dtype)
        x = tf.cast(inputs, dtype)
        shape = [1] * x.shape.rank
        shape[self._axis] = -1
        gamma, beta = self._gamma_beta(dtype, tf.cast(self.moving_mean, dtype))
        if training and mask is None and not self.renorm:
            y, mean, variance = batch_norm_train(
                x, tf.reshape(gamma, shape), tf.reshape(beta, shape), self._reduction_axes,
                self.epsilon, self._replica_sum(),
            )
            self._update_moving(tf.reshape(mean, [-1]), tf.reshape(variance, [-1]))
            return y
        if training:
            mean, variance = self._moments(x, mask)
            if self.renorm:
                gamma, beta = self._renorm(mean, variance, gamma, beta)
            else:
                self._update_moving(mean, variance)
        else:
            mean = tf.cast(self.moving_mean, dtype)
            variance = tf.cast(self.moving_variance, dtype)
        mean, variance = tf.reshape(mean, shape), tf.reshape(variance, shape)
        x_hat = (x - mean) / tf.sqrt(variance + self.epsilon)
        return tf.reshape(gamma, shape) * x_hat + tf.reshape(beta, shape)

    def _replica_sum(self):
        """Sum over replicas when `synchronized` under several replicas, else None."""
        replica = tf.distribute.get_replica_context() if self.synchronized else None
        if replica is None or tf.distribute.get_strategy().num_replicas_in_sync <= 1:
            return None
        return lambda t: replica.all_reduce(tf.distribute.ReduceOp.SUM, t)

    def _moments(self, x, mask):
        """Batch mean and (biased) variance per channel; all-reduced when `synchronized`."""
        axes = self._reduction_axes
        if mask is not None:
            weights = tf.cast(tf.broadcast_to(tf.expand_dims(tf.cast(mask, tf.bool), -1), tf.shape(x)), x.dtype)
        else:
            weights = None
        all_sum = self._replica_sum() or (lambda t: t)

        if weights is None:
            count = tf.cast(tf.size(x) // tf.shape(x)[self._axis], x.dtype)
            total = all_sum(tf.stack([tf.reduce_sum(x, axes), tf.fill([tf.shape(x)[self._axis]], count)]))
            mean = total[0] / total[1]
            shape = [1] * x.shape.rank
            shape[self._axis] = -1
            squares = all_sum(tf.reduce_sum(tf.square(x - tf.reshape(mean, shape)), axes))
            return mean, squares / total[1]
        # Masked positions are left out of the sums (Keras adds its backend epsilon to the count).
        count = all_sum(tf.reduce_sum(weights, axes)) + keras.config.epsilon()
        mean = all_sum(tf.reduce_sum(x * weights, axes)) / count
        shape = [1] * x.shape.rank
        shape[self._axis] = -1
        diff = (x - tf.reshape(mean, shape)) * weights
        variance = all_sum(tf.reduce_sum(tf.square(diff), axes)) / count
        return mean, variance

    def _renorm(self, mean, variance, gamma, beta):
        """Batch renormalization (Ioffe 2017), as Keras: y = (x_hat * r + d) * gamma + beta."""
        clipping = self.renorm_clipping or {}
        stddev = tf.sqrt(variance + self.epsilon)
        renorm_mean = tf.cast(self.renorm_mean, mean.dtype)
        renorm_stddev = tf.maximum(tf.cast(self.renorm_stddev, mean.dtype), tf.sqrt(tf.cast(self.epsilon, mean.dtype)))
        r = stddev / renorm_stddev
        d = (mean - renorm_mean) / renorm_stddev
        if clipping.get("rmin") is not None:
            r = tf.maximum(r, tf.cast(clipping["rmin"], r.dtype))
        if clipping.get("rmax") is not None:
            r = tf.minimum(r, tf.cast(clipping["rmax"], r.dtype))
        if clipping.get("dmax") is not None:
            d = tf.clip_by_value(d, -tf.cast(clipping["dmax"], d.dtype), tf.cast(clipping["dmax"], d.dtype))
        r, d = tf.stop_gradient(r), tf.stop_gradient(d)
        new_gamma, new_beta = r * gamma, d * gamma + beta
        # Update the renorm and moving statistics.
        rm = self.renorm_momentum
        self.renorm_mean.assign(tf.cast(self.renorm_mean, mean.dtype) * rm + mean * (1.0 - rm))
        self.renorm_stddev.assign(tf.cast(self.renorm_stddev, mean.dtype) * rm + stddev * (1.0 - rm))
        self.moving_mean.assign(tf.cast(self.moving_mean, mean.dtype) * self.momentum + mean * (1.0 - self.momentum))
        moving_stddev = tf.cast(self.moving_stddev, mean.dtype) * self.momentum + stddev * (1.0 - self.momentum)
        self.moving_stddev.assign(moving_stddev)
        self.moving_variance.assign(tf.nn.relu(moving_stddev * moving_stddev - self.epsilon))
        return new_gamma, new_beta

    def get_config(self):
        config = {
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": keras.initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": keras.initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": keras.regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": keras.regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": keras.constraints.serialize(self.beta_constraint),
            "gamma_constraint": keras.constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}
