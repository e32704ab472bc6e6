"""Why each group of settings exists, in a few lines: shown when one of its controls has focus.
A trick's own text is part of the trick (:data:`~tui_trainer.config.tricks.TRICKS`)."""

from ..config.tricks import TRICKS

TITLES = {
    "train": "Training",
    "data": "Data",
    "model": "Model",
    **{name: trick.title for name, trick in TRICKS.items()},
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
        "so it sees local patterns wherever they occur; a ResNet stacks many such layers and adds "
        "each block's input to its output, so even 110 layers still train (residual off: the plain "
        "net that does not). The recurrent model reads the input one step at a time and carries a "
        "memory: an LSTM or a GRU through gates, a plain RNN without them (its gradients explode or "
        "vanish). A Transformer (text) "
        "lets every character attend to all the ones before it at once; pre-LN trains stably, "
        "post-LN (the original) wants a warm-up. Only the chosen "
        "family's settings are shown and saved. Watch the parameter count in the info panel."
    ),
    **{name: trick.explain for name, trick in TRICKS.items()},
}
