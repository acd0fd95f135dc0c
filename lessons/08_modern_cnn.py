"""Modern CNN blocks: Inception, the 1x1 bottleneck, residual connections, classic networks, fine-tuning.

What you will learn:
- an Inception block: four branches side by side, concatenated along the channels,
  24*3 + 16 = 88 output channels [003];
- why 1x1 convolutions are cheap: multiply counts of a 5x5 convolution from 192 to 32
  channels on 28x28, without and with a 16-channel 1x1 bottleneck, read from the layers'
  shapes (`tfcourse.models.multiply_adds`) [003];
- the residual block H(x) = F(x) + x, so H'(x) = F'(x) + 1: the early layers of a deep
  plain net get tiny gradients, those of a residual net of the same depth do not; a 1x1
  projection shortcut when the shape changes [003];
- the classic networks (LeNet-5, AlexNet with LRN, VGG-16, GoogLeNet, ResNet-50) built from
  scratch in Keras, with their parameter counts and multiply-adds; no weights downloaded
  [004 outline 3.3];
- fine-tuning [000]: a CNN pretrained on MNIST, fine-tuned on 1,000 Fashion-MNIST labels,
  against the same CNN trained from scratch on those 1,000 labels;
- a small ResNet on MNIST.

Errata: the notes [003] print the bottleneck cost as 12,433,648; the two terms they list,
1*1*28*28*192*16 = 2,408,448 and 5*5*28*28*16*32 = 10,035,200, add up to 12,443,648.

Runtime: under 10 minutes on 2 idle CPU cores, most of it the small ResNet's 5 epochs (README's lessons
table has the measured median of 3 seeds)
(`--quick`: about 60 s; 5,000 MNIST images, 1-2 epochs, 5 fine-tuning epochs, accuracies on the
first 2,048 test images).
Expected (checked by tests/lessons/test_08_modern_cnn.py on `--quick`): the Inception block
outputs 88 channels; 120,422,400 multiplies without the bottleneck and 2,408,448 +
10,035,200 = 12,443,648 with it (the notes' 12,433,648 is off by 10,000); the Jacobian of
F(x) + x minus that of F is the identity (to 1e-6); the first layer's gradient norm is > 10x
larger in the residual net than in the plain net of the same depth (20 blocks); adding an
identity shortcut to a block that changes shape fails, a projection shortcut works;
parameter counts LeNet-5 61,706, AlexNet 60,965,224, VGG-16 138,357,544 and ResNet-50
25,636,712, the last two equal to `keras.applications` (weights=None).
Expected (checked by benchmarks/lessons.py on the full run): the small ResNet reaches
>= 0.994 MNIST test accuracy; the fine-tuning table (fine-tuned vs from scratch on 1,000
Fashion-MNIST labels).
Notes followed: 003 (advanced CNN: Inception, 1x1 convolutions, residual net), 000 (fine-tuning),
004 outline 3.3 (classic networks).
"""

# %% Setup
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tfcourse
from tfcourse.data import load_splits
from tfcourse.layers import LocalResponseNormalization
from tfcourse.lessons import lesson_parser, output_dir, report, save_figure
from tfcourse.models import lenet5, mnist_cnn, multiply_adds
from tfcourse.training import export, train

args = lesson_parser(__doc__).parse_args()
keras.utils.set_random_seed(args.seed)
out = output_dir(args, "08_modern_cnn")
results = {}
BATCH_SIZE = 128
QUICK_TEST_IMAGES = 2_048  # a multiple of both batch sizes (64, 128)


def test_images(splits, batch_size):
    """The test split; in quick mode only its first QUICK_TEST_IMAGES images."""
    return splits.test.take(QUICK_TEST_IMAGES // batch_size) if args.quick else splits.test
layers = keras.layers


# %% 1. An Inception block: four branches, concatenated along the channels
# The notes' block [003]: average pool -> 1x1 (24); 1x1 (16); 1x1 (16) -> 5x5 (24);
# 1x1 (16) -> 3x3 (24) -> 3x3 (24). "same" padding keeps the side, so the branches concatenate.
def notes_inception(x):
    pool = layers.Conv2D(24, 1)(layers.AveragePooling2D(3, strides=1, padding="same")(x))
    one = layers.Conv2D(16, 1)(x)
    five = layers.Conv2D(24, 5, padding="same")(layers.Conv2D(16, 1)(x))
    three = layers.Conv2D(16, 1)(x)
    three = layers.Conv2D(24, 3, padding="same")(layers.Conv2D(24, 3, padding="same")(three))
    return layers.Concatenate()([one, five, three, pool])


block_input = keras.Input((12, 12, 10))  # the notes' net feeds it 10 channels of 12x12
inception = keras.Model(block_input, notes_inception(block_input))
results["inception_output_shape"] = list(inception.output_shape[1:])
results["inception_output_channels_formula"] = 24 * 3 + 16
print(f"Inception block: (12, 12, 10) -> {inception.output_shape[1:]} = 24*3 + 16 channels")

# %% 2. The 1x1 bottleneck: multiplies from the layers' shapes
# A 5x5 convolution from 192 to 32 channels on 28x28, directly, or through 16 channels of 1x1.
wide = keras.Input((28, 28, 192))
direct = keras.Model(wide, layers.Conv2D(32, 5, padding="same")(wide))
squeeze = layers.Conv2D(16, 1)
expand = layers.Conv2D(32, 5, padding="same")
bottleneck = keras.Model(wide, expand(squeeze(wide)))
results["multiplies_direct"] = multiply_adds(direct)
results["multiplies_bottleneck_1x1"] = multiply_adds(keras.Model(wide, squeeze(wide)))
results["multiplies_bottleneck_5x5"] = multiply_adds(bottleneck) - results["multiplies_bottleneck_1x1"]
results["multiplies_bottleneck"] = multiply_adds(bottleneck)
results["multiplies_bottleneck_notes_typo"] = 12_433_648
results["multiplies_direct_formula"] = 5 * 5 * 32 * 192 * 28 * 28
results["multiplies_bottleneck_formula"] = 1 * 1 * 28 * 28 * 192 * 16 + 5 * 5 * 28 * 28 * 16 * 32
results["bottleneck_saving_factor"] = results["multiplies_direct"] / results["multiplies_bottleneck"]
print(f"5x5 conv 192 -> 32 on 28x28: {results['multiplies_direct']:,} multiplies; with a 16-channel 1x1 "
      f"bottleneck {results['multiplies_bottleneck_1x1']:,} + {results['multiplies_bottleneck_5x5']:,} = "
      f"{results['multiplies_bottleneck']:,} ({results['bottleneck_saving_factor']:.1f}x fewer). "
      f"The notes print 12,433,648: a typo, off by {results['multiplies_bottleneck'] - 12_433_648:,}.")


# %% 3. Residual blocks: H(x) = F(x) + x, so H'(x) = F'(x) + 1
# With a Jacobian instead of a derivative: dH/dx = dF/dx + I, whatever F is.
f = layers.Dense(4, activation="tanh", dtype="float64")  # float64: an exact check
x = tf.constant(np.random.RandomState(args.seed).randn(1, 4))
f.build((1, 4))
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    fx = f(x)
    hx = fx + x
jacobian_f = tape.jacobian(fx, x).numpy().reshape(4, 4)
jacobian_h = tape.jacobian(hx, x).numpy().reshape(4, 4)
results["residual_jacobian_minus_identity_max_error"] = float(np.abs(jacobian_h - jacobian_f - np.eye(4)).max())


def residual_block(x, filters, stride=1, shortcut=True, batch_norm=True):
    """conv3x3 -> [BN] -> ReLU -> conv3x3 -> [BN] -> (+ x or a 1x1 projection of x) -> ReLU."""
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=not batch_norm)(x)
    if batch_norm:
        y = layers.BatchNormalization(momentum=0.9)(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm)(layers.ReLU()(y))
    if batch_norm:
        y = layers.BatchNormalization(momentum=0.9)(y)
    if shortcut == "projection":  # the shape changes: project x with a strided 1x1 convolution
        x = layers.Conv2D(filters, 1, strides=stride, use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9)(x)
    if shortcut:
        y = layers.Add()([y, x])
    return layers.ReLU()(y)


# A deep plain net and a residual net of the same depth (a stem and 20 blocks of two 3x3
# convolutions, no batch norm, Keras's default Glorot init): gradient norm of every conv
# kernel for one batch of digits, at initialization.
DEPTH = 20


def deep_net(shortcut):
    inputs = keras.Input((14, 14, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    for _ in range(DEPTH):
        x = residual_block(x, 16, shortcut=shortcut, batch_norm=False)
    return keras.Model(inputs, layers.Dense(10)(layers.GlobalAveragePooling2D()(x)))


keras.utils.set_random_seed(args.seed)
digits = load_splits("mnist", batch_size=64, normalization="scale", validation_size=0, shuffle_seed=args.seed)
batch_images, batch_labels = next(iter(digits.train))
batch_images = tf.image.resize(batch_images, (14, 14))
gradient_norms = {}
for name, shortcut in [("plain", False), ("residual", True)]:
    keras.utils.set_random_seed(args.seed)  # same initial kernels in both nets
    net = deep_net(shortcut)
    with tf.GradientTape() as tape:
        logits = net(batch_images)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=batch_labels, logits=logits))
    kernels = [weight for weight in net.trainable_weights if len(weight.shape) == 4]  # conv kernels, input first
    gradient_norms[name] = [float(tf.norm(g)) for g in tape.gradient(loss, kernels)]
    results[f"{name}_first_layer_gradient_norm"] = gradient_norms[name][0]
    results[f"{name}_last_layer_gradient_norm"] = gradient_norms[name][-1]
results["residual_over_plain_first_layer_gradient"] = (
    results["residual_first_layer_gradient_norm"] / results["plain_first_layer_gradient_norm"]
)
results["deep_net_conv_layers"] = len(gradient_norms["plain"])
print(f"first conv layer's gradient norm, {len(gradient_norms['plain'])} conv layers: plain "
      f"{results['plain_first_layer_gradient_norm']:.3g}, residual {results['residual_first_layer_gradient_norm']:.3g}")
fig, ax = plt.subplots(figsize=(7, 4))
for name, norms in gradient_norms.items():
    ax.semilogy(range(1, len(norms) + 1), norms, marker="o", markersize=3, label=f"{name} net")
ax.set_xlabel("conv layer (1 = nearest the input)")
ax.set_ylabel("gradient norm of the kernel")
ax.set_title(f"Same depth ({len(gradient_norms['plain'])} conv layers), at initialization")
ax.legend()
save_figure(fig, out / "residual_gradient_norms.png")

# When a block halves the side and doubles the channels, x cannot be added to F(x):
# the identity shortcut fails, a strided 1x1 projection shortcut fits the shapes.
features = keras.Input((14, 14, 16))
try:
    y = residual_block(features, 32, stride=2, shortcut=True)
    results["identity_shortcut_shape_change_error"] = ""
except ValueError as error:
    results["identity_shortcut_shape_change_error"] = str(error).splitlines()[0][:120]
results["projection_shortcut_output_shape"] = list(residual_block(features, 32, stride=2, shortcut="projection").shape[1:])
print("identity shortcut across a shape change:", results["identity_shortcut_shape_change_error"] or "no error")
print("projection shortcut: (14, 14, 16) ->", results["projection_shortcut_output_shape"])


# %% 4. The classic networks, built from scratch (no weights downloaded)
# Each builder follows its paper's table for 1000 ImageNet classes.
def alexnet():
    """Krizhevsky et al. 2012: 5 conv (two GPUs -> groups=2 in conv2, 4, 5), LRN, 3 FC."""
    return keras.Sequential([
        keras.Input((227, 227, 3)),
        layers.Conv2D(96, 11, strides=4, activation="relu"),
        LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75),
        layers.MaxPooling2D(3, strides=2),
        layers.Conv2D(256, 5, padding="same", groups=2, activation="relu"),
        LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75),
        layers.MaxPooling2D(3, strides=2),
        layers.Conv2D(384, 3, padding="same", activation="relu"),
        layers.Conv2D(384, 3, padding="same", groups=2, activation="relu"),
        layers.Conv2D(256, 3, padding="same", groups=2, activation="relu"),
        layers.MaxPooling2D(3, strides=2),
        layers.Flatten(),
        layers.Dense(4096, activation="relu"), layers.Dropout(0.5),
        layers.Dense(4096, activation="relu"), layers.Dropout(0.5),
        layers.Dense(1000, activation="softmax"),
    ], name="alexnet")


def vgg16():
    """Simonyan & Zisserman 2014, configuration D: 13 3x3 convs in 5 stages, 3 FC."""
    stack = [keras.Input((224, 224, 3))]
    for filters, convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        stack += [layers.Conv2D(filters, 3, padding="same", activation="relu") for _ in range(convs)]
        stack.append(layers.MaxPooling2D(2))
    stack += [layers.Flatten(), layers.Dense(4096, activation="relu"), layers.Dense(4096, activation="relu"),
              layers.Dense(1000, activation="softmax")]
    return keras.Sequential(stack, name="vgg16")


def googlenet_inception(x, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
    """Szegedy et al. 2014: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max pool -> 1x1, concatenated."""
    branches = [
        layers.Conv2D(c1, 1, activation="relu")(x),
        layers.Conv2D(c3, 3, padding="same", activation="relu")(layers.Conv2D(c3_reduce, 1, activation="relu")(x)),
        layers.Conv2D(c5, 5, padding="same", activation="relu")(layers.Conv2D(c5_reduce, 1, activation="relu")(x)),
        layers.Conv2D(pool_proj, 1, activation="relu")(layers.MaxPooling2D(3, strides=1, padding="same")(x)),
    ]
    return layers.Concatenate()(branches)


def googlenet():
    """GoogLeNet (Inception v1) as in the paper's Table 1, without the auxiliary classifiers."""
    inputs = keras.Input((224, 224, 3))
    x = layers.Conv2D(64, 7, strides=2, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = layers.Conv2D(64, 1, activation="relu")(x)
    x = layers.Conv2D(192, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    table = {"3": [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)],
             "4": [(192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
                   (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)],
             "5": [(256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)]}
    for stage, blocks in table.items():
        for channels in blocks:
            x = googlenet_inception(x, *channels)
        if stage != "5":
            x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = layers.Dropout(0.4)(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, layers.Dense(1000, activation="softmax")(x), name="googlenet")


def resnet50():
    """He et al. 2015, ResNet-50: 7x7 stem, then bottleneck blocks 1x1 -> 3x3 -> 1x1 (x4 channels).

    Laid out as keras.applications.ResNet50 (biases in the convolutions, BN epsilon 1.001e-5),
    so the parameter counts can be compared exactly.
    """

    def bottleneck_block(x, filters, stride, projection):
        shortcut = x
        if projection:
            shortcut = layers.BatchNormalization(epsilon=1.001e-5)(layers.Conv2D(4 * filters, 1, strides=stride)(x))
        x = layers.ReLU()(layers.BatchNormalization(epsilon=1.001e-5)(layers.Conv2D(filters, 1, strides=stride)(x)))
        x = layers.ReLU()(layers.BatchNormalization(epsilon=1.001e-5)(layers.Conv2D(filters, 3, padding="same")(x)))
        x = layers.BatchNormalization(epsilon=1.001e-5)(layers.Conv2D(4 * filters, 1)(x))
        return layers.ReLU()(layers.Add()([shortcut, x]))

    inputs = keras.Input((224, 224, 3))
    x = layers.Conv2D(64, 7, strides=2)(layers.ZeroPadding2D(3)(inputs))
    x = layers.ReLU()(layers.BatchNormalization(epsilon=1.001e-5)(x))
    x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))
    for filters, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for index in range(blocks):
            x = bottleneck_block(x, filters, stride if index == 0 else 1, projection=index == 0)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(1000, activation="softmax")(x), name="resnet50")


classic_rows = []
for label, build in [("LeNet-5", lenet5), ("AlexNet", alexnet), ("VGG-16", vgg16), ("GoogLeNet", googlenet),
                     ("ResNet-50", resnet50)]:
    model = build()
    dense = sum(layer.count_params() for layer in model.layers if isinstance(layer, layers.Dense))
    classic_rows.append({"model": label, "input": "x".join(str(s) for s in model.input_shape[1:]),
                         "parameters": model.count_params(), "multiply_adds": multiply_adds(model),
                         "fc_share": dense / model.count_params()})
    del model
results["classic_networks"] = classic_rows
for row in classic_rows:
    results[f"{row['model']}_parameters"] = row["parameters"]
    results[f"{row['model']}_multiply_adds"] = row["multiply_adds"]
# Parity: keras.applications builds the same architectures without downloading (weights=None).
results["keras_applications_VGG-16_parameters"] = keras.applications.VGG16(weights=None).count_params()
results["keras_applications_ResNet-50_parameters"] = keras.applications.ResNet50(weights=None).count_params()
keras.backend.clear_session()
print(f"\n{'network':<10} {'input':>11} {'parameters':>12} {'multiply-adds':>15} {'FC share':>9}")
for row in classic_rows:
    print(f"{row['model']:<10} {row['input']:>11} {row['parameters']:>12,} {row['multiply_adds']:>15,} "
          f"{row['fc_share']:>8.1%}")
print(f"keras.applications (weights=None): VGG-16 {results['keras_applications_VGG-16_parameters']:,}, "
      f"ResNet-50 {results['keras_applications_ResNet-50_parameters']:,}")


# %% 5. Fine-tuning: pretrain on MNIST, fine-tune on 1,000 Fashion-MNIST labels
# The quickstart CNN learns digit strokes on MNIST; its convolutions are copied into a new
# net with a fresh classifier, then trained on only 1,000 labelled Fashion-MNIST images.
# The same net from scratch on the same 1,000 images is the baseline.
def adam_cosine(learning_rate, steps):
    return lambda: tfcourse.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01))


LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
keras.utils.set_random_seed(args.seed)
mnist = load_splits("mnist", batch_size=BATCH_SIZE, validation_size=0, shuffle_seed=args.seed,
                    train_limit=5_000 if args.quick else None)
PRETRAIN_EPOCHS = 1 if args.quick else 2
pretrained = train(mnist_cnn, mnist.train, epochs=PRETRAIN_EPOCHS, global_batch_size=BATCH_SIZE,
                   optimizer=adam_cosine(3e-3, mnist.info.steps_per_epoch * PRETRAIN_EPOCHS), loss=LOGITS,
                   steps_per_execution=16, seed=args.seed).model
results["pretrained_mnist_test_accuracy"] = float(pretrained.evaluate(test_images(mnist, BATCH_SIZE), verbose=0)[1])
conv_weights = [layer.get_weights() for layer in pretrained.layers if isinstance(layer, layers.Conv2D)]

LABELS = 1_000
fashion = load_splits("fashion_mnist", batch_size=64, validation_size=0, train_limit=LABELS, shuffle_seed=args.seed)
FINETUNE_EPOCHS = 5 if args.quick else 30


def fashion_cnn(start_from_mnist, freeze=False):
    def build():
        model = mnist_cnn(name="fashion_cnn")
        if start_from_mnist:
            convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
            for layer, weights in zip(convs, conv_weights):
                layer.set_weights(weights)
                layer.trainable = not freeze
        return model

    return build


finetune_rows = []
for label, build in [("from scratch", fashion_cnn(False)), ("MNIST features, frozen", fashion_cnn(True, freeze=True)),
                     ("MNIST features, fine-tuned", fashion_cnn(True))]:
    run = train(build, fashion.train, epochs=FINETUNE_EPOCHS, global_batch_size=64,
                optimizer=adam_cosine(1e-3, fashion.info.steps_per_epoch * FINETUNE_EPOCHS), loss=LOGITS,
                seed=args.seed)
    accuracy = float(run.model.evaluate(test_images(fashion, 64), verbose=0)[1])
    finetune_rows.append({"start": label, "fashion_test_accuracy": accuracy})
key = {"from scratch": "scratch", "MNIST features, frozen": "frozen", "MNIST features, fine-tuned": "finetuned"}
for row in finetune_rows:
    results[f"fashion_{LABELS}_labels_{key[row['start']]}_test_accuracy"] = row["fashion_test_accuracy"]
results["finetune_table"] = finetune_rows
print(f"\nFashion-MNIST test accuracy after training on {LABELS:,} labels ({FINETUNE_EPOCHS} epochs):")
for row in finetune_rows:
    print(f"  {row['start']:<28} {row['fashion_test_accuracy']:.4f}")


# %% 6. A small ResNet on MNIST
# A 3x3 stem, then residual blocks at 14x14 (32 channels) and 7x7 (64 channels, entered by
# a projection shortcut), global average pooling and one dense layer.
def small_resnet():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = layers.MaxPooling2D()(layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x)))
    x = residual_block(x, 32)
    x = residual_block(x, 64, stride=2, shortcut="projection")
    x = residual_block(x, 64)
    outputs = layers.Dense(10)(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="small_resnet")


RESNET_EPOCHS = 2 if args.quick else 5  # 1 epoch (40 steps) leaves BN statistics unsettled
keras.utils.set_random_seed(args.seed)
mnist = load_splits("mnist", batch_size=BATCH_SIZE, validation_size=1_024 if args.quick else 5_000, shuffle_seed=args.seed,
                    train_limit=5_000 if args.quick else None)
resnet_run = train(small_resnet, mnist.train, validation_data=mnist.validation, epochs=RESNET_EPOCHS,
                   global_batch_size=BATCH_SIZE, optimizer=adam_cosine(3e-3, mnist.info.steps_per_epoch * RESNET_EPOCHS),
                   loss=LOGITS, steps_per_execution=16, seed=args.seed, verbose=2)
results["small_resnet_parameters"] = resnet_run.model.count_params()
results["small_resnet_multiply_adds"] = multiply_adds(resnet_run.model)
results["small_resnet_epochs"] = RESNET_EPOCHS
results["small_resnet_test_accuracy"] = float(resnet_run.model.evaluate(test_images(mnist, BATCH_SIZE), verbose=0)[1])
results["small_resnet_target_test_accuracy"] = 0.994
results["small_resnet_target_met"] = results["small_resnet_test_accuracy"] >= 0.994
print(f"small ResNet ({results['small_resnet_parameters']:,} parameters): MNIST test accuracy "
      f"{results['small_resnet_test_accuracy']:.4f} after {RESNET_EPOCHS} epochs; target 0.994: "
      f"{'met' if results['small_resnet_target_met'] else 'MISSED'}")

# %% Export the small ResNet
results["saved_model"] = str(export(resnet_run.model, "08_modern_cnn", root=args.saved_models_dir))

report(results, out / "results.json", title="L08 Modern CNN blocks")
