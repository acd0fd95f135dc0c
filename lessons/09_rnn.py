"""Recurrent networks: one shared cell over time, SimpleRNN / LSTM / GRU on MNIST rows, clipping.

What you will learn:
- why recurrence [003]: predicting tomorrow's weather from k days of (temperature, humidity,
  light) by concatenating the days into one dense layer costs parameters in proportion to k;
  one cell shared by every day costs the same for any k, and runs on sequences of any length;
- the RNN cell is one linear layer on [h, x]: h_t = tanh([h_{t-1}, x_t] @ [W_hh; W_xh] + b)
  [003] (`tfcourse.layers.SimpleRNNCell`), equal to `keras.layers.SimpleRNNCell` given the same
  weights;
- input layouts: (seq_len, batch, features) in the notes (PyTorch) vs (batch, seq_len,
  features) in Keras, converted with `tf.transpose`; the same cell unrolled by hand over the
  time-major tensor equals `keras.layers.RNN` on the batch-major one;
- stacked RNN layers and the hidden state's shape (num_layers, batch, hidden) [003];
- MNIST read row by row, 28 steps of 28 pixels, with SimpleRNN, LSTM and GRU: a table of
  parameters and test accuracy;
- a character task, "hello" -> "ohlol" (the classic course exercise, not in the notes), learned
  exactly by the from-scratch cell;
- exploding (and vanishing) gradients [002 §1]: with a linear cell and W_hh = g * (orthogonal),
  ||dL/dh_t|| = g^(T-t) * ||dL/dh_T||; gradient clipping with `clipnorm` (per variable) and
  `global_clipnorm` (all variables together) bounds the update, and keeps a training run that
  otherwise ends in NaN finite.
Errata: the notes give (seq_len, batch, input_size) and (num_layers, batch, hidden_size) as the
shapes of `torch.nn.RNNCell`'s input and hidden state; those are the shapes of `torch.nn.RNN`
(the whole sequence, all layers). One cell step takes (batch, input_size) and (batch,
hidden_size): section 3 shows both.

Runtime: under 5 minutes on 2 idle CPU cores (README's lessons table has the measured median of 3
seeds); `--quick`: about 40 s idle.
Expected: dense parameters = 3*k*32 + 32 (320 for the notes' 3 days, more than the cell's 1,152
from k = 12 days on) while the cell keeps 1,152 for every k; the from-scratch cell equals Keras's
SimpleRNNCell (max difference < 1e-5) and the hand-unrolled time-major loop equals
`keras.layers.RNN` (< 1e-5); 3 stacked layers give a hidden state of shape (3, batch, 16);
parameter counts SimpleRNN 20,096, GRU 60,672, LSTM 80,384 (+1,290 for the Dense head);
"hello" -> "ohlol" is predicted exactly; linear cell: gradient-norm ratios equal g^(T-t) (relative
error < 1e-3); with the recurrent gain 2 the initial gradient norm is > 100x that at gain 1;
one SGD(1.0) step has update norm exactly min(||g||, 1) with global_clipnorm=1 and each variable's
<= 1 with clipnorm=1; an IRNN trained with SGD(0.05) ends dead at chance without clipping (loss
ln 10 or NaN, validation accuracy < 0.2) and learns with either clipping (loss < 2.2, accuracy
at least 0.15 higher). Full run (6 epochs on 60,000 images): LSTM test accuracy >= 0.985 (the
target), GRU >= 0.985, SimpleRNN >= 0.95, all three recorded per seed by
benchmarks/lessons.py (`--quick`, 6,000 images, 2 epochs: LSTM and GRU > 0.5, SimpleRNN > 0.3).
Notes followed: 003 (RNN), 002 §1 (exploding gradients).
"""

# %% Setup
import time

import keras
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse.data import load_splits  # noqa: E402
from tfcourse.layers import SimpleRNNCell  # noqa: E402
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure  # noqa: E402
from tfcourse.training import export, train  # noqa: E402

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "09_rnn")
results = {}
rng = np.random.RandomState(args.seed)
logits_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

# %% 1. Why recurrence: k days of weather into one dense layer vs one shared cell
# The notes' example [003]: each day is (temperature, humidity, light); to predict tomorrow from
# k days, concatenate them (3k inputs) into a dense layer, or feed them one by one to a cell.
FEATURES, HIDDEN = 3, 32
print("days k | dense on 3k inputs | SimpleRNN cell")
for days in (3, 7, 12, 30, 365):
    dense = keras.Sequential([keras.Input((days * FEATURES,)), keras.layers.Dense(HIDDEN)])
    rnn = keras.Sequential([keras.Input((days, FEATURES)), keras.layers.SimpleRNN(HIDDEN)])
    results[f"weather_{days}_days_dense_params"] = dense.count_params()
    results[f"weather_{days}_days_rnn_params"] = rnn.count_params()
    print(f"{days:>6} | {dense.count_params():>18,} | {rnn.count_params():>14,}")
# One cell, any length: the same layer (same weights) reads 3 days or a year.
shared = keras.layers.SimpleRNN(HIDDEN)
for days in (3, 365):
    results[f"shared_cell_output_shape_{days}_days"] = str(tuple(shared(rng.rand(2, days, FEATURES)).shape))
print("one SimpleRNN layer on 3 and on 365 days:", results["shared_cell_output_shape_3_days"],
      results["shared_cell_output_shape_365_days"], "- weights:", shared.count_params())  # fmt: skip

# %% 2. The RNN cell is one linear layer on [h, x]
# h_t = tanh(h_{t-1} @ W_hh + x_t @ W_xh + b) = tanh([h_{t-1}, x_t] @ [W_hh; W_xh] + b): the two
# products are one product with the stacked matrix [003]. Load Keras's weights into our cell.
keras_cell = keras.layers.SimpleRNNCell(16, bias_initializer="random_normal", seed=args.seed)
keras_cell.build((None, 28))
cell = SimpleRNNCell(16)
cell.build((None, 28))
cell.from_keras_weights(keras_cell.kernel, keras_cell.recurrent_kernel, keras_cell.bias)
x_step = rng.randn(4, 28).astype("float32")
h_step = rng.randn(4, 16).astype("float32")
step_difference = np.abs(cell(x_step, [h_step])[0] - keras_cell(x_step, [h_step])[0]).max()
results["cell_kernel_shape"] = str(tuple(cell.kernel.shape))
results["cell_vs_keras_step_max_difference"] = float(step_difference)
print(f"one kernel {tuple(cell.kernel.shape)} = [W_hh (16, 16); W_xh (28, 16)]; "
      f"one step vs keras.layers.SimpleRNNCell: max difference {step_difference:.2g}")  # fmt: skip

# %% 3. Input layouts: (seq, batch, feature) in the notes, (batch, seq, feature) in Keras
# The notes' loop runs over the first axis, time. Keras layers take batch first; `tf.transpose`
# swaps the two axes. One cell step takes (batch, features), not the whole sequence.
sequence = rng.rand(4, 28, 28).astype("float32")  # (batch, seq, features): Keras's layout
time_major = tf.transpose(sequence, [1, 0, 2])  # (seq, batch, features): the notes' layout


def unroll(cell, time_major_inputs, h0):
    """The notes' loop: h = cell(x_t, h) for each time step; returns every h_t."""
    hidden, states = h0, []
    for x_t in time_major_inputs:  # x_t: (batch, features)
        hidden, _ = cell(x_t, [hidden])
        states.append(hidden)
    return states


states = unroll(cell, time_major, tf.zeros((4, 16)))
keras_rnn = keras.layers.RNN(keras_cell, return_sequences=True)(sequence)  # (batch, seq, hidden)
loop_difference = np.abs(tf.stack(states, axis=1) - keras_rnn).max()
results["notes_layout_shape"] = str(tuple(time_major.shape))
results["keras_layout_shape"] = str(tuple(sequence.shape))
results["cell_step_input_shape"] = str(tuple(time_major[0].shape))
results["cell_step_hidden_shape"] = str(tuple(states[0].shape))
results["time_major_loop_vs_keras_rnn_max_difference"] = float(loop_difference)
print(f"notes {tuple(time_major.shape)} vs Keras {tuple(sequence.shape)}; one step: x_t "
      f"{tuple(time_major[0].shape)}, h_t {tuple(states[0].shape)}; hand loop vs keras.layers.RNN: "
      f"max difference {loop_difference:.2g}")  # fmt: skip

# %% 4. Stacked layers and the hidden state (num_layers, batch, hidden)
# Each layer passes its whole output sequence up (return_sequences=True); each keeps its own
# final state. Stacking the final states gives the notes' (num_layers, batch, hidden).
NUM_LAYERS = 3
inputs = keras.Input((28, 28))
outputs, finals = inputs, []
for _ in range(NUM_LAYERS):
    outputs, final = keras.layers.SimpleRNN(16, return_sequences=True, return_state=True)(outputs)
    finals.append(final)
stacked = keras.Model(inputs, [outputs, keras.ops.stack(finals)])
top_sequence, hidden_state = stacked(sequence)
results["stacked_output_shape"] = str(tuple(top_sequence.shape))
results["stacked_hidden_state_shape"] = str(tuple(hidden_state.shape))
results["stacked_top_last_output_vs_final_state"] = float(np.abs(top_sequence[:, -1] - hidden_state[-1]).max())
print(f"{NUM_LAYERS} stacked layers: output {tuple(top_sequence.shape)} (batch, seq, hidden), "
      f"hidden state {tuple(hidden_state.shape)} (num_layers, batch, hidden)")  # fmt: skip

# %% 5. A character task: "hello" -> "ohlol"
# The classic exercise: one-hot characters in, the next character of "ohlol" out at every step.
# As in the course, the 4 hidden units are the 4 class scores (no dense layer on top).
VOCABULARY = "ehlo"
source, target = "hello", "ohlol"
one_hot = np.eye(len(VOCABULARY), dtype="float32")[[VOCABULARY.index(c) for c in source]][None]
labels = np.array([[VOCABULARY.index(c) for c in target]])


class PredictedText(keras.callbacks.Callback):
    """The predicted string after every epoch."""

    def on_train_begin(self, logs=None):
        self.texts = []

    def on_epoch_end(self, epoch, logs=None):
        scores = self.model(one_hot, training=False).numpy()[0]
        self.texts.append("".join(VOCABULARY[i] for i in scores.argmax(-1)))


predicted = PredictedText()
hello = train(
    lambda: keras.Sequential([keras.Input((5, 4)), keras.layers.RNN(SimpleRNNCell(4), return_sequences=True)]),
    (one_hot, labels),
    epochs=30,
    global_batch_size=1,
    optimizer=lambda: keras.optimizers.Adam(0.1),
    loss=logits_loss,
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    callbacks=[predicted],
)
results["hello_prediction"] = predicted.texts[-1]
results["hello_first_epoch_exact"] = next((i + 1 for i, t in enumerate(predicted.texts) if t == target), -1)
print("predicted after epochs 1, 5, 10, 30:", [predicted.texts[i] for i in (0, 4, 9, 29)])

# %% 6. MNIST row by row: SimpleRNN, LSTM and GRU
# Each image is a sequence of 28 rows of 28 pixels; the last hidden state feeds a softmax layer.
# LSTM/GRU keep their default activations: on a GPU Keras then runs them as one fused cuDNN
# kernel (on a CPU, as here, it runs the same step loop as any other cell).
UNITS, BATCH = 128, 128
TRAIN_LIMIT = 6_000 if args.quick else None
EPOCHS = 2 if args.quick else 6
data = load_splits("mnist", batch_size=BATCH, validation_size=0, train_limit=TRAIN_LIMIT, shuffle_seed=args.seed)
steps_per_epoch = int(data.train.cardinality())


def rows_model(recurrent_layer):
    """(28, 28, 1) image -> 28 rows of 28 pixels -> recurrent layer -> 10 logits."""
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Reshape((28, 28)), recurrent_layer, keras.layers.Dense(10),
    ])  # fmt: skip


def adam_with_cosine_decay():
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=EPOCHS * steps_per_epoch)
    return keras.optimizers.Adam(schedule, global_clipnorm=1.0)


table, trained = [], {}
for name, layer in [("simple_rnn", keras.layers.SimpleRNN), ("lstm", keras.layers.LSTM), ("gru", keras.layers.GRU)]:
    started = time.perf_counter()
    run = train(lambda: rows_model(layer(UNITS)), data.train, epochs=EPOCHS, global_batch_size=BATCH,
                optimizer=adam_with_cosine_decay, loss=logits_loss)  # fmt: skip
    seconds = time.perf_counter() - started
    _, accuracy = run.model.evaluate(data.test, verbose=0)
    trained[name] = run.model
    row = {"model": name, "params": run.model.count_params(), "test_accuracy": float(accuracy),
           "seconds_per_epoch": seconds / EPOCHS}  # fmt: skip
    table.append(row)
    for key in ("params", "test_accuracy", "seconds_per_epoch"):
        results[f"mnist_{name}_{key}"] = row[key]
    results[f"mnist_{name}_recurrent_params"] = run.model.layers[1].count_params()
results["mnist_epochs"] = EPOCHS
print(f"\nMNIST row by row, {UNITS} units, {EPOCHS} epochs, Adam 2e-3 with cosine decay")
print("model      | parameters | test accuracy | s/epoch")
for row in table:
    print(f"{row['model']:<10} | {row['params']:>10,} | {row['test_accuracy']:>13.4f} | {row['seconds_per_epoch']:>7.1f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar([r["model"] for r in table], [r["test_accuracy"] for r in table])
ax.set_ylim(min(r["test_accuracy"] for r in table) - 0.05, 1.0)
ax.set_ylabel("test accuracy")
ax.set_title(f"MNIST as 28 rows of 28 pixels, {EPOCHS} epochs")
save_figure(fig, out / "mnist_rows.png")

# %% 7. Exploding and vanishing gradients, and clipping
# Backpropagation through time multiplies by W_hh^T once per step. With a linear cell and
# W_hh = g * Q (Q orthogonal), ||dL/dh_t|| = g^(T-t) * ||dL/dh_T|| exactly [002 §1].
STEPS = 28
inputs_time_major = tf.constant(rng.randn(STEPS, 8, 4).astype("float32"))
gradient_norms = {}
for gain in (0.5, 1.0, 1.5):
    linear = SimpleRNNCell(16, activation=None)
    linear.build((None, 4))
    orthogonal = keras.initializers.Orthogonal(gain=gain, seed=args.seed)((16, 16))
    linear.kernel.assign(tf.concat([orthogonal, linear.kernel[16:]], axis=0))
    with tf.GradientTape() as tape:
        hs = unroll(linear, inputs_time_major, tf.zeros((8, 16)))
        loss = tf.reduce_sum(hs[-1] * tf.constant(rng.randn(8, 16).astype("float32")))
    norms = np.array([float(tf.norm(g)) for g in tape.gradient(loss, hs)])
    gradient_norms[gain] = norms
    closed_form = gain ** np.arange(STEPS - 1, -1, -1.0)
    results[f"linear_gain_{gain}_norm_ratio_first_step"] = float(norms[0] / norms[-1])
    results[f"linear_gain_{gain}_max_relative_error_vs_closed_form"] = float(
        np.abs(norms / norms[-1] - closed_form).max() / closed_form.max()
    )
    print(f"gain {gain}: ||dL/dh_1|| / ||dL/dh_T|| = {norms[0] / norms[-1]:.4g} (g^{STEPS - 1} = {gain ** (STEPS - 1):.4g})")

fig, ax = plt.subplots(figsize=(6, 3.5))
for gain, norms in gradient_norms.items():
    ax.semilogy(range(1, STEPS + 1), norms, marker=".", label=f"W_hh = {gain} x orthogonal")
ax.set_xlabel("time step t")
ax.set_ylabel("||dL/dh_t||")
ax.set_title("Backpropagation through time, linear RNN cell")
ax.legend()
save_figure(fig, out / "gradient_norms_through_time.png")

# The same on MNIST rows with a ReLU RNN: the recurrent gain decides the size of the gradient.
clip_data = load_splits("mnist", batch_size=64, validation_size=1000, train_limit=4000, shuffle_seed=args.seed)
images, digits = next(iter(clip_data.train))


def relu_rnn(gain):
    initializer = keras.initializers.Orthogonal(gain=gain, seed=args.seed)
    return rows_model(keras.layers.SimpleRNN(64, activation="relu", recurrent_initializer=initializer))


def gradient_of(model):
    with tf.GradientTape() as tape:
        loss = logits_loss(digits, model(images))
    return tape.gradient(loss, model.trainable_weights)


for gain in (1.0, 2.0):
    norm = float(tf.linalg.global_norm(gradient_of(relu_rnn(gain))))
    results[f"relu_rnn_gain_{gain}_initial_gradient_norm"] = norm
    print(f"ReLU RNN, recurrent gain {gain}: gradient norm {norm:.4g}")

# Clipping rescales the gradient before the update: global_clipnorm=c scales all gradients by
# c / ||g|| when ||g|| > c; clipnorm=c does so for each variable on its own. One SGD(1.0) step:
model = relu_rnn(2.0)
gradients = gradient_of(model)
results["clip_gradient_global_norm"] = float(tf.linalg.global_norm(gradients))
for label, clipping in [("none", {}), ("global_clipnorm", {"global_clipnorm": 1.0}), ("clipnorm", {"clipnorm": 1.0})]:
    copies = [tf.Variable(w) for w in model.trainable_weights]
    keras.optimizers.SGD(1.0, **clipping).apply_gradients(zip(gradients, copies))
    updates = [c - w for c, w in zip(copies, model.trainable_weights)]
    results[f"clip_{label}_update_global_norm"] = float(tf.linalg.global_norm(updates))
    results[f"clip_{label}_update_max_variable_norm"] = max(float(tf.norm(u)) for u in updates)
    print(f"clipping {label:>15}: update norm {results[f'clip_{label}_update_global_norm']:.4g}, "
          f"largest per variable {results[f'clip_{label}_update_max_variable_norm']:.4g}")  # fmt: skip

# Training with a large step: an IRNN (ReLU cell, identity W_hh, Le et al. 2015) with SGD(0.05).
# Unclipped, its first large gradients push the ReLU units dead and it ends at chance (loss
# ln 10 = 2.303); the clipped runs keep learning.
def irnn():
    return rows_model(keras.layers.SimpleRNN(
        64, activation="relu", recurrent_initializer=keras.initializers.Identity(),
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.001, seed=args.seed),
    ))  # fmt: skip


for label, clipping in [("none", {}), ("global_clipnorm", {"global_clipnorm": 1.0}), ("clipnorm", {"clipnorm": 1.0})]:
    run = train(irnn, clip_data.train, validation_data=clip_data.validation, epochs=2, global_batch_size=64,
                optimizer=lambda: keras.optimizers.SGD(0.05, **clipping), loss=logits_loss, seed=args.seed)  # fmt: skip
    results[f"irnn_{label}_final_loss"] = run.history["loss"][-1]
    results[f"irnn_{label}_val_accuracy"] = run.history["val_accuracy"][-1]
    print(f"IRNN, SGD(0.05), clipping {label:>15}: loss per epoch {[round(v, 3) for v in run.history['loss']]}, "
          f"validation accuracy {run.history['val_accuracy'][-1]:.3f}")  # fmt: skip

# %% Export the LSTM (input (28, 28, 1); the serving signatures also take (28, 28))
results["saved_model"] = str(export(trained["lstm"], "09_rnn", root=args.saved_models_dir))

report(results, out / "results.json", title="L09 Recurrent networks")
