"""Every number the doctor judges by, in one place, each with how it was chosen.

Each value is a first choice made by reasoning about what a healthy run looks like, said
beside it; where ``bench/doctor.py``'s corpus of sick and healthy configurations moved one, its
comment gives the first value and the runs that moved it. The bench also chooses the values on
one half of its cases and scores them on the other: change a value here with its figures from there.
"""

from __future__ import annotations

# -- how much of a run there must be --------------------------------------------------------------

#: Epochs below which a finding about the shape of the curves is given low confidence: three
#: points of a validation curve are as easily noise as a trend.
FEW_EPOCHS = 6
#: Epochs needed before the curves are judged at all (a rise needs a best and a rise after it).
MIN_EPOCHS = 3

# -- over-fitting ----------------------------------------------------------------------------------

#: Epochs after the best validation loss during which it has not come back: one or two epochs
#: above the best are ordinary noise, three in a row begin to be a trend.
RISING_EPOCHS = 3
#: How far above its best the last validation loss must be, as a share of the best: a rise
#: of a tenth is one a reader sees on the curve.
RISE = 0.10
#: ... and at least this many times the validation loss's own epoch-to-epoch noise (the median
#: absolute change between epochs), so that a noisy curve is not read as a trend.
RISE_OVER_NOISE = 2.0

# -- a plateau that is not learning ------------------------------------------------------------------

#: The last part of the run that is checked for being flat, as a share of its epochs (at least
#: MIN_EPOCHS epochs).
TAIL = 1 / 3
#: Flat: the training loss moved by less than this share of its mean over the tail.
FLAT = 0.02
#: ... while still above this share of the first epoch's training loss: a loss that fell by
#: less than 70 % is far from what a model that fits its data reaches.
HIGH = 0.30

# -- the learning rate -------------------------------------------------------------------------------

#: A loss spike: a step's loss above this many times the median of the steps before it (a
#: window of SPIKE_WINDOW steps): far more than a batch's own variation.
SPIKE_FACTOR = 3.0
SPIKE_WINDOW = 50
#: ... and above that median by at least this share of the loss the run started from: a loss
#: near zero that triples has moved by nothing.
SPIKE_RISE = 0.1
#: Spikes that make a finding: at least this many, and this share of the steps (two in the first
#: steps, against the loss it started from).
SPIKES_MIN = 3
EARLY_SPIKES_MIN = 2
SPIKE_SHARE = 0.01
#: Oscillation: the epoch's training loss went up on at least this share of epoch changes
#: (with at least FEW_EPOCHS epochs): a mean over a whole epoch that rises this often is not
#: descending. First 0.4; bench/doctor.py's healthy lstm-co2 (a small series, early stopping)
#: rose on 15 of 36 once: half.
OSCILLATION = 0.5
#: Too low: over the tail the training loss still falls at least this share of its slope over
#: the part before it: the loss has not started to level off when the run ends.
SLOPE_KEPT = 0.5
#: ... and it fell by at least this share over the tail: a real fall, not rounding.
STILL_FALLING = 0.05
#: Tiny updates: the weights' L2 norm moved by less than this share per epoch, on average.
TINY_UPDATE = 1e-3

# -- gradients ---------------------------------------------------------------------------------------

#: An exploding gradient: a step's pre-clip norm above this many times the median of the steps
#: before it. First 10 (an order of magnitude); bench/doctor.py's corpus chose 20 on each half of
#: its cases, held out on the other (10 named unclipped CNNs that over-fit for exploding gradients).
EXPLODE_FACTOR = 20.0
#: ... or above this many times the first steps' median: a norm that climbs step by step (an RNN
#: without clipping, from 3 to 5,000 in 48 steps) rather than one that jumps. A CNN without
#: BatchNorm grows its norm tenfold from its first steps as it fits: not an explosion.
EXPLODE_GROWTH = 100.0
#: Exploding steps that make a finding. A run shorter than SPIKE_WINDOW steps is judged against the
#: median of all its steps: the corpus's rnn-unclipped case has 48, and on one seed of five its
#: norm climbed 300x on one step and 40x on two, which the 100x climb alone did not name.
EXPLODE_MIN = 3
#: The first steps, whose median norm is the gradient's size before training moved it.
EARLY_STEPS = 10
#: Clipping that binds on more than this share of the steps cuts every step: the threshold
#: is below the gradients' typical size, and clipping has become a lower learning rate.
CLIPPED_SHARE = 0.5
#: Vanishing: the median gradient norm of the last epoch below this share of the first's,
#: while the loss is still high (HIGH).
VANISH_RATIO = 1e-3
#: ... or a plain net this deep (weight layers, with no normalisation layer and no shortcut) whose
#: training loss never fell by FLAT: the lesson's "what happens without BatchNorm" in a deep net.
DEEP_PLAIN = 8

# -- schedules and early stopping ---------------------------------------------------------------------

#: A schedule at its floor: the last LR below this share of the run's highest.
FLOOR = 0.05
#: Still improving at the floor: a new best validation loss in the last this-share of the epochs.
LATE_BEST = 0.1
#: A constant LR that stalls: no new best validation loss over the last half of the run.
STALL = 0.5
#: Early stopping too eager: the wait came within one epoch of the patience and then improved
#: at least this many times before it stopped: the patience sits inside the validation noise.
NEAR_MISSES = 2
#: ... or once, on a run it stopped before this share of the planned epochs while the training
#: loss still fell (STILL_FALLING over the last patience + 1 epochs).
EARLY_STOP_SHARE = 0.5
#: A bouncing validation loss: it rises on a third of the epochs or more, by a median rise of this
#: share of its median level (over the run, for early stopping; over its second half, for a
#: constant LR). A curve that falls steadily does not bounce at all.
BOUNCE = 0.1

# -- collapse, precision, weights ---------------------------------------------------------------------

#: One class: a single predicted class holds this share of the test predictions (3+ classes).
ONE_CLASS = 0.9
#: The GradScaler skips that make a finding, as a share of the steps after its first
#: SCALER_WARMUP steps (it skips a few at the start by design while it finds its scale).
SCALER_SHARE = 0.02
SCALER_WARMUP = 50
#: Weights growing without bound: the weight norm at the end this many times the first
#: epoch's, rising on at least GROWING_SHARE of the epoch changes, with no weight decay.
GROWTH = 2.0
GROWING_SHARE = 0.8

# -- prescriptions ---------------------------------------------------------------------------------------

#: A model smaller than its data: fewer parameters than this many per training sample, so it cannot
#: even hold one number for each sample. A plateau on such a model is its capacity: it is
#: prescribed a wider model, where a model with room to spare is prescribed a higher LR.
SMALL_MODEL = 1.0
#: How much wider: every layer's width times this. On bench/doctor.py's tiny-model case (424
#: parameters, 1,000 samples; seeds 0-2) twice as wide moved the test accuracy from 0.245 to 0.275,
#: as the LR three times higher did, and four times as wide to 0.37: chosen on the corpus, not held out.
WIDEN = 4

# -- the lesson's rules on the settings ----------------------------------------------------------------

#: A run this long (epochs) with a constant LR: "an LR schedule for long training".
LONG_RUN = 30

# -- activations (train.activations_every) --------------------------------------------------------------

#: A dead layer: this share of a ReLU layer's units zero for every sample of the probe batch. First
#: 0.5 (half a layer's width lost); bench/doctor.py's corpus showed healthy networks with half their
#: fully connected layer silent on the batch (digits-optimized-cnn 52 %, cnn-mnist1d at a constant LR
#: 52 %, an unregularised CNN 56 %) and the dead-relu case's layers at 90 % and more: 0.7.
DEAD = 0.7
#: A saturated layer: this share of a tanh, sigmoid or plain RNN layer's outputs beyond 0.99 of
#: their limits, where the slope is under 0.02: half the gradient through the layer near zero.
SATURATED_SHARE = 0.5
#: The readings in a row, ending with the last, that must show it: one reading may catch a layer
#: in a bad moment it leaves again.
PROBES_IN_A_ROW = 2
