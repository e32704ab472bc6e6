"""Why each trick exists, in a few lines: shown when one of its controls has focus."""

TITLES = {
    "train": "Training",
    "data": "Data",
    "model": "Model",
    "batchnorm": "BatchNorm",
    "dropout": "Dropout",
    "lr_schedule": "LR schedule",
    "grad_clip": "Gradient clipping",
    "weight_decay": "Weight decay",
    "early_stopping": "Early stopping",
    "mixed_precision": "Mixed precision",
    "augment": "Augmentation",
    "label_smoothing": "Label smoothing",
}

EXPLAIN = {
    "train": (
        "The basics every trick acts on: how many epochs at most, the base learning rate "
        "(the peak for one-cycle), samples per step, and the seed that fixes initialisation, "
        "shuffling and dropout, so the same settings give the same curves. Press l for the LR "
        "finder: a sweep on a copy of the model that suggests a learning rate."
    ),
    "data": (
        "What the model learns from: MNIST-1D and digits are offline; MNIST, Fashion-MNIST and "
        "CIFAR-10 download once into the cache; image_folder reads your own pictures from path "
        "(one sub-folder per class), npz your own arrays; text any UTF-8 file (by default the Python "
        "docs), series a CSV column (by default Mauna Loa CO2), both split by position, never shuffled "
        "across. Otherwise the validation split is carved out of the "
        "training split with its own seed, so every training seed is judged on the same samples; "
        "the test split is scored once, at the end, with the weights kept."
    ),
    "model": (
        "The model family and its size. A CNN slides small filters along the input and pools, "
        "so it sees local patterns wherever they occur; an LSTM reads the input one step at a "
        "time and carries a memory, which suits sequences but trains slower. A Transformer (text) "
        "lets every character attend to all the ones before it at once; pre-LN trains stably, "
        "post-LN (the original) wants a warm-up. Only the chosen "
        "family's settings are shown and saved. Watch the parameter count in the info panel."
    ),
    "batchnorm": (
        "Normalises each channel (CNN) or each time step's features (LSTM) over the batch, "
        "then rescales them with learned weights. It lets larger learning rates train "
        "stably and early epochs move faster. Watch: loss falls sooner; validation can be "
        "noisier with small batches, since eval uses running averages."
    ),
    "dropout": (
        "Zeroes a random fraction p of units while training (never in eval) and scales the "
        "rest, so the network cannot lean on single units. It fights overfitting. In an LSTM "
        "it sits between layers and on the output (and, for text, on the embeddings). "
        "PyTorch's own nn.LSTM(dropout=0.3), as the lesson writes it, acts only between "
        "stacked layers: on one layer it does nothing (PyTorch warns). This switch never is a "
        "no-op: one layer still gets dropout on its input and output. Watch: training loss "
        "sits higher and noisier, while the gap to validation loss shrinks."
    ),
    "lr_schedule": (
        "Changes the learning rate over the run: decay lets the model settle into a minimum "
        "after fast early progress; warm-up starts small so early, large gradients do not "
        "wreck the weights. Step and exponential move per epoch, cosine and one-cycle per "
        "batch, plateau when validation stalls; noam rises for its warm-up, then falls as "
        "1/sqrt(step), as Transformers were first trained. Watch the LR curve and the loss bend with it."
    ),
    "grad_clip": (
        "Caps the gradient before the step: by the global norm (rescales the whole "
        "gradient) or by value (clamps each element). It keeps one bad batch from throwing "
        "the weights far away, above all in LSTMs. Watch the |g| curve against the "
        "threshold: clipping acts on every step above it."
    ),
    "weight_decay": (
        "Pulls weights towards zero each step, a preference for small weights that often "
        "generalises better. Decoupled (AdamW) shrinks weights directly; coupled adds an L2 "
        "term to the gradient, which Adam then rescales, weakening it. Biases and norm "
        "weights are left alone. Watch: validation loss, over long runs."
    ),
    "early_stopping": (
        "Ends the run when the monitored validation metric has not improved by min_delta "
        "for `patience` epochs, and can restore the best epoch's weights. It saves time "
        "and keeps the weights from before overfitting set in. Watch the patience counter "
        "climb after the best epoch."
    ),
    "mixed_precision": (
        "Runs the forward pass in 16-bit floats with autocast: bf16 where supported, else "
        "fp16 with a GradScaler that keeps small gradients from vanishing. On GPUs it is "
        "faster and uses less memory for about the same accuracy. Watch samples/s; the "
        "loss should look like fp32's."
    ),
    "augment": (
        "Shows the model a slightly different picture each epoch: shifted by up to crop_padding "
        "pixels (pad, then crop back at a random place) and, for half the images, mirrored left "
        "to right. The model cannot memorise exact pixels, so it overfits later. Flips are left "
        "out for digits, where a mirror image is another symbol. Images only. Watch: training "
        "loss sits higher, validation loss keeps falling for longer."
    ),
    "label_smoothing": (
        "Trains towards 1 - epsilon for the true class instead of a hard 1, spreading epsilon "
        "over all classes, so the model stops pushing its logits ever further apart and is less "
        "over-confident. The training loss cannot reach 0 any more; validation and test losses "
        "are plain cross-entropy, so runs compare. Watch: validation loss, and test accuracy."
    ),
}
