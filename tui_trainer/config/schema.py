"""The preset schema: frozen dataclasses, free of torch.

Each field carries its documentation and its constraints in ``metadata`` (see
:mod:`.fields`); the tricks, one unit each, are declared in :mod:`.tricks`. ``loader.py``
walks these fields to validate a TOML document, so the schema is declared once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fields import _f, _table
from .tricks import TRICK_NAMES, TricksConfig


DATASETS = ("mnist1d", "digits", "mnist", "fashion_mnist", "cifar10", "image_folder", "npz", "text", "series", "python")
COLORS = ("rgb", "grayscale")
#: Datasets of 1-D sequences, where the image-only tricks cannot apply.
SEQUENCE_DATASETS = ("mnist1d", "text", "series")
#: The data settings that only some datasets read, and which (the others ignore them).
DATA_READ_BY = {"path": ("image_folder", "npz", "text", "series"), "seq_len": ("text",), "random_offsets": ("text",),
                "image_size": ("image_folder",), "color": ("image_folder",),
                "test_fraction": ("image_folder", "npz", "digits", "series"),
                "download": ("mnist", "fashion_mnist", "cifar10"),
                **{key: ("series",) for key in ("column", "date_column", "window", "horizon", "season", "transform",
                                                "val_periods", "test_periods")},
                "python.loader": ("python",), "python.args": ("python",),
                # text and series are split by position
                "split_seed": tuple(d for d in DATASETS if d not in ("text", "series")),
                "val_fraction": tuple(d for d in DATASETS if d != "text")}
SERIES_TRANSFORMS = ("level", "difference", "last_value", "both")
REGRESSION_LOSSES = ("mse", "mae")
MODEL_KINDS = ("cnn", "lstm", "resnet", "transformer", "python")
RNN_CELLS = ("lstm", "gru", "rnn")
NORM_PLACES = ("pre", "post")
HEAD_NORMS = ("none", "before_dropout", "after_dropout")
OPTIMIZERS = ("adam", "sgd")
DEVICES = ("auto", "cpu", "cuda", "mps")
NONFINITE_POLICIES = ("stop", "skip")
BACKENDS = ("auto", "gloo", "nccl")


@dataclass(frozen=True)
class PythonDataConfig:
    loader: str = _f("", "the callable that gives the data: \"package.module:function\" or \"path/to/file.py:"
                         "function\" (a path relative to the preset's own folder); it returns arrays or tensors: "
                         "a dict with x, y [, x_test, y_test, x_val, y_val, classes], or a tuple (x, y[, x_test, "
                         "y_test]); or a torch Dataset of (x, y) pairs, alone or as a dict's train, test, val")
    args: dict[str, Any] = _f({}, "keyword arguments the loader is called with: a table of any values")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = _f("mnist1d", "dataset to train on (or one an installed plugin declares)", choices=DATASETS,
                      plugins="datasets")
    val_fraction: float = _f(0.1, "fraction of the training split held out for validation", gt=0.0, max=0.5)
    split_seed: int = _f(0, "seed of the train/validation split (fixed, independent of train.seed)", min=0)
    train_limit: int = _f(0, "use only this many training samples, the same ones for every "
                             "train.seed (0 = all): a small training set, to see over-fitting", min=0)
    path: str = _f("", "image_folder: a folder with one sub-folder of images per class; npz: a .npz file "
                       "with x, y [, x_test, y_test]; text: a UTF-8 file (empty: the Python documentation topics of "
                       "the standard library); series: a CSV file with a header row (empty: "
                       "monthly Mauna Loa CO2, 1958-2001)")
    seq_len: int = _f(128, "text: characters per training sequence (each predicts the next character)", min=2,
                      max=100_000)
    random_offsets: bool = _f(True, "text: each epoch cuts the training block into sequences at a new random "
                                    "offset, so they start at new places (false: the same sequences every epoch)")
    column: str = _f("", "series: the CSV column to forecast, by name or 0-based index (empty: the last "
                         "column; co2 for the default series)")
    date_column: str = _f("", "series: a column of dates; monthly ones (YYYY-MM[-DD]) are checked for "
                              "missing months, all label the periods and the plot (empty: none; "
                              "month for the default series)")
    window: int = _f(36, "series: past values the model reads for each forecast", min=1, max=100_000)
    horizon: int = _f(1, "series: future values predicted from each window (1 = the next one)", min=1, max=10_000)
    season: int = _f(12, "series: the period of the seasonal-naive baseline (12 for monthly data with a yearly cycle)",
                     min=1)
    transform: str = _f("level", "series: what the model sees and predicts: level (normalised "
                                 "values), difference (changes), last_value (the window minus its last value), both "
                                 "(differences and last-value channels); the last three predict "
                                 "the change from the last value", choices=SERIES_TRANSFORMS)
    val_periods: int = _f(0, "series: the validation period, in rows before the test period "
                             "(0 = val_fraction of the rows)", min=0)
    test_periods: int = _f(0, "series: the test period, in the last rows (0 = test_fraction of the rows)", min=0)
    image_size: int = _f(32, "image_folder: each image is centre-cropped to a square and "
                             "resized to this many pixels a side", min=4, max=1024)
    color: str = _f("rgb", "image_folder: rgb (3 channels) or grayscale (1)", choices=COLORS)
    test_fraction: float = _f(0.2, "image_folder, and npz without x_test: fraction of the images held out for "
                                   "the test score; series: of the rows, the last ones", gt=0.0, max=0.5)
    download: bool = _f(True, "mnist, fashion_mnist, cifar10: download the files on first use (false: "
                              "use only what is in the cache)")
    memory_budget_mb: float = _f(0.0, "datasets up to this size (all splits, as stored) are held on the device; "
                                      "larger ones stream from disk through a DataLoader "
                                      "(0 = half the device's memory)", min=0.0)
    python: PythonDataConfig = _table(PythonDataConfig, "data.dataset = \"python\": data from your own code")
    plugin: dict[str, Any] = _f({}, "a plugin dataset's settings, written [data.<its name>] and checked against "
                                    "what the plugin declares", plugin_table=True)


@dataclass(frozen=True)
class CNNConfig:
    channels: tuple[int, ...] = _f((32, 64, 64), "output channels of each conv block", min=1)
    kernel_size: int = _f(5, "convolution kernel size (odd keeps the length)", min=1, max=31)
    pool_every: int = _f(1, "max-pool by 2 after every Nth conv block (0 = never)", min=0)
    fc_hidden: int = _f(128, "units of the hidden fully connected layer (0 = none: the "
                             "classifier reads the conv features)", min=0)
    conv_bias: bool = _f(False, "keep each conv's bias beside BatchNorm, as the lesson's models do (BatchNorm's "
                                "own shift makes it redundant)")
    head_norm: str = _f("none", "BatchNorm on the hidden fully connected layer: before_dropout (linear, "
                                "BatchNorm, ReLU, dropout) or after_dropout (linear, ReLU, dropout, BatchNorm: its "
                                "statistics are learnt on dropped-out units)",
                        choices=HEAD_NORMS)
    input_shape: tuple[int, ...] = _f((), "the sample shape the model is built for, e.g. [3, "
                                          "32, 32]; other data is refused (empty: adapt the first conv "
                                          "and linear layers to the data)", min=1, empty_ok=True)


@dataclass(frozen=True)
class LSTMConfig:
    cell: str = _f("lstm", "the recurrent cell: lstm (gated, with a memory cell), gru (gated, Cho et al. 2014) or rnn "
                           "(a plain tanh RNN, whose gradients explode and vanish without gates)", choices=RNN_CELLS)
    hidden_size: int = _f(128, "hidden units per layer", min=1)
    num_layers: int = _f(2, "stacked layers", min=1, max=8)
    bidirectional: bool = _f(False, "read the sequence both ways (classification only: a "
                                    "language model must not see ahead)")
    embedding_dim: int = _f(64, "text: size of each character's learned embedding", min=1)
    embedding_dropout: bool = _f(True, "text: the dropout trick also drops the embeddings (false: only "
                                       "between layers and before the head, as the lesson's OptimizedRNN)")
    inner_dropout: float = _f(0.0, "PyTorch's nn.LSTM(dropout=...) as the lesson writes it: after every "
                                   "layer but the last, besides the dropout trick; with one layer it "
                                   "does nothing, and the run says so", min=0.0, max=0.95)


@dataclass(frozen=True)
class ResNetConfig:
    depth: int = _f(20, "layers with weights: 2 × blocks per stage × stages + 2, so 6n + 2 for three stages "
                        "(20, 32, 44, 56, 110)", min=4, max=1202)
    widths: tuple[int, ...] = _f((16, 32, 64), "channels of each stage; every stage after the first halves the "
                                               "length (or each side) and widens", min=1)
    residual: bool = _f(True, "add each block's input to its output (false: the plain net of the same depth, "
                              "He et al.'s comparison)")
    zero_init_residual: bool = _f(False, "the last BatchNorm of each block starts at gamma = 0, so each block "
                                         "starts as the identity (Goyal et al. 2017)")


@dataclass(frozen=True)
class TransformerConfig:
    d_model: int = _f(128, "width of the token and position embeddings and of every layer", min=8)
    num_layers: int = _f(4, "decoder blocks (attention, then a feed-forward layer)", min=1, max=48)
    num_heads: int = _f(4, "attention heads per block (d_model must divide by it)", min=1)
    ff_mult: int = _f(4, "the feed-forward layer is ff_mult × d_model wide", min=1, max=16)
    context: int = _f(0, "positions learnt, the most characters it attends to (0 = data.seq_len); "
                         "generation keeps the last this many", min=0, max=100_000)
    norm: str = _f("pre", "LayerNorm before each sub-layer (pre, trains stably) or after the residual sum (post, the "
                          "2017 original, needs warm-up)",
                   choices=NORM_PLACES)


@dataclass(frozen=True)
class PythonModelConfig:
    factory: str = _f("", "the callable that builds the model: \"package.module:function\" or \"path/to/file.py:"
                          "function\" (a path relative to the preset's own folder); it is called with the data's spec "
                          "(input_shape, num_classes, task) and [model.python.args], plus batchnorm and dropout "
                          "where it takes them, and returns an nn.Module")
    args: dict[str, Any] = _f({}, "keyword arguments the factory is called with: a table of any values")


@dataclass(frozen=True)
class ModelConfig:
    """``kind`` picks the model family; the family's settings are the table of the same name,
    ``[model.cnn]`` or ``[model.lstm]``, and only that one applies (and is written back)."""

    kind: str = _f("cnn", "model family (or one an installed plugin declares); its settings are the table "
                          "[model.<kind>]", choices=MODEL_KINDS, variants=True, plugins="models")
    cnn: CNNConfig = _table(CNNConfig, "model.kind = \"cnn\": conv blocks (conv, [BatchNorm], ReLU, [pool]), a hidden "
                                       "FC layer, [Dropout], a classifier")
    lstm: LSTMConfig = _table(LSTMConfig, "model.kind = \"lstm\": stacked LSTM layers, read at the last "
                                          "step, [Dropout], a classifier (text: an embedding, the "
                                          "layers, a head at every step)")
    resnet: ResNetConfig = _table(ResNetConfig, "model.kind = \"resnet\": the CIFAR ResNets of He et al. 2016: a conv, "
                                                "three stages of basic blocks with identity shortcuts, global average "
                                                "pooling, a classifier (1-D or 2-D from the data)")
    transformer: TransformerConfig = _table(TransformerConfig, "model.kind = \"transformer\" (text): a "
                                                               "decoder-only character Transformer "
                                                              "with causal attention, learned positions and LayerNorm")
    python: PythonModelConfig = _table(PythonModelConfig, "model.kind = \"python\": a model from your own code "
                                                          "(docs/own-code.md)")
    plugin: dict[str, Any] = _f({}, "a plugin family's settings, written [model.<its name>] and checked against "
                                    "what the plugin declares", plugin_table=True)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = _f(30, "maximum number of epochs", min=1, max=100_000)
    batch_size: int = _f(128, "samples per optimizer step", min=1, max=1_000_000)
    optimizer: str = _f("adam", "adam (AdamW when decay is decoupled) or sgd", choices=OPTIMIZERS)
    lr: float = _f(3e-3, "base learning rate (the peak for one-cycle)", gt=0.0, max=10.0)
    momentum: float = _f(0.9, "SGD momentum (Adam: beta1)", min=0.0, max=0.999)
    nesterov: bool = _f(False, "SGD: Nesterov momentum")
    seed: int = _f(0, "seed of initialisation, shuffling and dropout", min=0)
    device: str = _f("auto", "auto picks cuda, then mps, then cpu", choices=DEVICES)
    threads: int = _f(0, "CPU threads for torch (0 = torch's default, one per core; 1 on a shared machine)", min=0,
                      max=1024)
    stats_every: int = _f(32, "fetch step statistics from the device every N steps (or 10 times a second)", min=1,
                          max=100_000)
    activations_every: int = _f(25, "every N steps, measure dead ReLU units and saturated tanh/sigmoid/RNN "
                                     "outputs on a copy of a training batch, for the doctor (one forward "
                                     "pass; 0: off)", min=0, max=1_000_000)
    checkpoint_every: int = _f(1, "write last.pt every N epochs (and always at the end)", min=1)
    on_nonfinite: str = _f("stop", "a non-finite loss or gradient: stop (status diverged, with a hint) or skip the "
                                   "step and count it (one device sync a step)", choices=NONFINITE_POLICIES)
    loss: str = _f("mse", "series (regression): mse (squared error) or mae (absolute error); "
                          "classes and characters always use cross-entropy", choices=REGRESSION_LOSSES)
    max_skipped_steps: int = _f(100, "with on_nonfinite = skip: stop as diverged after this many skipped steps", min=0)
    flush_denormal: bool = _f(True, "CPU: flush subnormal floats (below 1.2e-38) to zero (FTZ/DAZ), "
                                    "which a saturated network can slow down on many times over; results "
                                    "change only where such values occur")


@dataclass(frozen=True)
class SampleConfig:
    """Text from the current weights while a language model trains (``g`` in the app), and the
    defaults of ``tui-trainer generate``."""

    every_epoch: bool = _f(True, "text: write a sample after every epoch (the app's g key samples at any time)")
    min_seconds: float = _f(10.0, "after an epoch, sample only if this many seconds passed since the last "
                                  "sample, so short epochs (a GPU) are not slowed by them; the last epoch "
                                  "always samples (0: every epoch)", min=0.0)
    prompt: str = _f("", "text the samples start from (empty: one random character)")
    length: int = _f(300, "characters to generate after the prompt", min=1, max=100_000)
    temperature: float = _f(0.8, "below 1: safer, more repetitive; above 1: wilder", gt=0.0, max=10.0)
    top_k: int = _f(0, "draw only from the k likeliest characters (0: all)", min=0)


@dataclass(frozen=True)
class DistributedConfig:
    """One run over several processes (``torchrun`` or ``train --nproc``): how they work together.
    ``train.batch_size`` is the global batch, split evenly over the processes."""

    backend: str = _f("auto", "auto: nccl on CUDA, gloo on the CPU", choices=BACKENDS)
    sync_batchnorm: bool = _f(True, "BatchNorm normalises over the global batch (SyncBatchNorm); false "
                                    "keeps each process's own batch statistics (running "
                                    "statistics then come from process 0)")
    timeout_seconds: float = _f(120.0, "a collective that waits longer than this ends the run with a "
                                       "message (a process died or hangs)",
                                min=1.0, max=86_400.0)


@dataclass(frozen=True)
class Config:
    name: str = _f("untitled", "preset name, used in run folder names")
    description: str = _f("", "one line shown in preset lists")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tricks: TricksConfig = field(default_factory=TricksConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)

    def tricks_on(self) -> list[str]:
        return [name for name in TRICK_NAMES if getattr(self.tricks, name).enabled]

