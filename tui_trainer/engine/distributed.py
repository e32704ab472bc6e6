"""One run over several processes: what the loop asks of the others.

``torchrun --nproc-per-node N -m tui_trainer train PRESET`` (or ``train --nproc N``, which
starts the same through torch's launcher API) runs the loop once per process. Each process
builds the same model from the same seed, draws the same permutation of the epoch, and
trains on its own share of every global batch (``train.batch_size`` is the global batch):
global batch ``b`` is the slice ``perm[b*B : (b+1)*B]`` of the permutation, as in one
process, and process ``r`` takes its ``r``-th part. So with DistributedDataParallel's
averaged gradients (and SyncBatchNorm) a step is the step one process would take on the
same global batch, up to the order of floating-point sums.

The rest is agreement, so that no process waits for a collective the others never join:

- a stop (SIGINT, SIGTERM, a divergence one process saw first) is all-reduced every step,
  asynchronously, and every process stops at the same step boundary;
- validation and test sums are all-reduced, so every process sees the same metrics;
- process 0's decision at the end of an epoch (early stopping, divergence) is broadcast;
- process 0 alone writes the run folder; the others' RNG states travel to it in ``last.pt``.

A collective that fails or waits past ``distributed.timeout_seconds`` (a process died)
raises :class:`ProcessLost`, a message for the user, not a hang.

With one process (the default) every method is a no-op and nothing here imports
``torch.distributed``'s process groups.
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
from torch import nn

from ..config.schema import DistributedConfig
from ..errors import UserError
from .outcome import Outcome


class ProcessLost(UserError):
    """Another process of the run is gone or stopped answering."""

    exit_code = 1


def lost_message(exc: BaseException) -> str:
    """What a failed collective means for the user."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". This is typically")[0]  # gloo's source location and advice
    return (f"another process of this run stopped answering ({first[:200]}); the run ends here. "
            "Its folder keeps the last checkpoint: resume it with `tui-trainer train --resume RUN_DIR --nproc N`")


def _lost(exc: BaseException) -> ProcessLost:
    return ProcessLost(lost_message(exc))


#: What torch's collectives say when the process at the other end is gone (gloo, NCCL, the store).
LOST_SIGNS = ("gloo", "nccl", "connection reset", "connection closed", "broken pipe", "timed out", "timeout")


def translate(exc: BaseException) -> BaseException:
    """A failed collective (inside DDP's backward or SyncBatchNorm, say) as :class:`ProcessLost`;
    any other error as it is."""
    import torch.distributed as dist

    lost = isinstance(exc, dist.DistError) or any(s in str(exc).lower() for s in LOST_SIGNS)
    if isinstance(exc, RuntimeError) and lost:
        return _lost(exc)
    return exc


@dataclass
class Distributed:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1

    @classmethod
    def from_env(cls) -> "Distributed":
        """The process's place in a run started by torchrun (``WORLD_SIZE``, ``RANK``, ...), or a world of one."""
        env = os.environ
        world = int(env.get("WORLD_SIZE", "1") or 1)
        if world <= 1:
            return cls()
        return cls(world, int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0")),
                   int(env.get("LOCAL_WORLD_SIZE", str(world))))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- set-up -------------------------------------------------------------------

    def device(self, device: torch.device) -> torch.device:
        """The device of this process: its own GPU (by local rank) on CUDA."""
        if self.enabled and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    def threads(self, requested: int) -> int:
        """CPU threads per process when ``train.threads`` is 0: the cores shared out among this machine's processes."""
        if requested > 0 or not self.enabled:
            return requested
        return max(1, (os.cpu_count() or 1) // self.local_world_size)

    def start(self, device: torch.device, config: DistributedConfig) -> None:
        """Join the process group (nccl on CUDA, gloo otherwise), plus a gloo group for the
        stop flag and checkpoints' RNG states, and one for BatchNorm on the CPU."""
        if not self.enabled:
            return
        import torch.distributed as dist

        backend = config.backend if config.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
        if backend == "nccl" and device.type != "cuda":
            raise UserError("distributed.backend: nccl needs CUDA GPUs; this run is on the CPU: use gloo (or auto)")
        self.backend = backend
        self.timeout = config.timeout_seconds
        if not dist.is_initialized():
            kwargs = {"device_id": device} if backend == "nccl" else {}
            dist.init_process_group(backend, timeout=timedelta(seconds=config.timeout_seconds), **kwargs)
        self.control = dist.new_group(backend="gloo", timeout=timedelta(seconds=config.timeout_seconds))
        self.norm_group = dist.new_group(backend="gloo") if device.type not in ("cuda",) else None
        self._pending: tuple[Any, torch.Tensor] | None = None

    def check_batch(self, batch_size: int, n: int) -> int:
        """The steps of an epoch: full global batches only (each process needs the same number of
        samples, and DDP's average is the global mean only when the shares are equal)."""
        if batch_size % self.world_size:
            raise UserError(f"train.batch_size: {batch_size} cannot be split evenly over {self.world_size} processes; "
                            f"choose a multiple of {self.world_size} (it is the global batch)")
        if n < batch_size:
            raise UserError(f"train.batch_size: {batch_size} is larger than the {n:,} training samples; lower it")
        return n // batch_size

    def wrap(self, model: nn.Module, device: torch.device, sync_batchnorm: bool) -> nn.Module:
        """The module the steps run through: DistributedDataParallel around ``model`` (whose
        BatchNorms become SyncBatchNorm unless ``sync_batchnorm`` is off). ``model`` itself
        stays the plain module that checkpoints, evaluation and samples use."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if sync_batchnorm:
            from .sync_batchnorm import convert_sync_batchnorm

            model = convert_sync_batchnorm(model, device, self.norm_group)
        # a conv weight with a dimension of size 1 has two valid stride layouts; DDP warns once per process that its
        # gradient's differs from its bucket's (it copies it, at no measurable cost here): not the user's concern
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        ids = [device.index] if device.type == "cuda" else None
        # with SyncBatchNorm the buffers agree already; without it, process 0's are sent before each forward
        params = inspect.signature(DistributedDataParallel).parameters
        sync = {"forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers": not sync_batchnorm}
        return DistributedDataParallel(model, device_ids=ids, **sync)

    def seed_dropout(self, seed: int) -> None:
        """Each process its own dropout masks (process 0 keeps the single-process stream)."""
        if self.enabled and self.rank:
            torch.manual_seed(seed + 1_000_003 * self.rank)

    # -- data -----------------------------------------------------------------------

    def shard(self, perm: torch.Tensor, steps: int, batch_size: int) -> torch.Tensor:
        """This process's part of each of the epoch's ``steps`` global batches, in order."""
        if not self.enabled:
            return perm
        local = batch_size // self.world_size
        return perm[: steps * batch_size].view(steps, self.world_size, local)[:, self.rank].reshape(-1)

    def local_batch(self, batch_size: int) -> int:
        return batch_size // self.world_size

    def eval_part(self, n: int) -> tuple[int, int]:
        """This process's contiguous share ``[lo, hi)`` of an evaluation split of ``n`` samples."""
        if not self.enabled:
            return 0, n
        return n * self.rank // self.world_size, n * (self.rank + 1) // self.world_size

    # -- agreement ------------------------------------------------------------------

    def should_stop(self, local: bool) -> bool:
        """Called at every step boundary by every process: whether any process wanted to stop as
        of the previous call (one all-reduce in flight, so it costs no wait). Every process gets
        the same answer at the same step."""
        if not self.enabled:
            return local
        import torch.distributed as dist

        agreed = False
        try:
            if self._pending is not None:
                work, flag = self._pending
                work.wait()
                agreed = bool(flag.item())
            flag = torch.tensor([1 if local else 0], dtype=torch.int32)
            self._pending = (dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.control, async_op=True), flag)
        except RuntimeError as exc:
            raise _lost(exc) from None
        return agreed

    def drain(self) -> None:
        """Wait for the stop flag in flight (before the epoch's collectives)."""
        if self.enabled and self._pending is not None:
            try:
                self._pending[0].wait()
            except RuntimeError as exc:
                raise _lost(exc) from None
            self._pending = None

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over every process, in place (on its device's backend)."""
        if not self.enabled:
            return tensor
        import torch.distributed as dist

        group = self.control if tensor.device.type == "cpu" else None
        try:
            dist.all_reduce(tensor, group=group)
        except RuntimeError as exc:
            raise _lost(exc) from None
        return tensor

    def decide(self, outcome: Outcome | None) -> Outcome | None:
        """Process 0's outcome, on every process."""
        if not self.enabled:
            return outcome
        return self._broadcast(outcome)

    def sync_buffers(self, model: nn.Module) -> None:
        """Process 0's buffers (BatchNorm's running statistics) on every process, before an evaluation."""
        if not self.enabled:
            return
        import torch.distributed as dist

        try:
            for buffer in model.buffers():
                dist.broadcast(buffer, 0)
        except RuntimeError as exc:
            raise _lost(exc) from None

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (small: RNG states, the epoch's losses), in rank order."""
        if not self.enabled:
            return [value]
        import torch.distributed as dist

        values: list[Any] = [None] * self.world_size
        try:
            dist.all_gather_object(values, value, group=self.control)
        except RuntimeError as exc:
            raise _lost(exc) from None
        return values

    def _broadcast(self, value: Any) -> Any:
        import torch.distributed as dist

        box = [value]
        try:
            dist.broadcast_object_list(box, 0, group=self.control)
        except RuntimeError as exc:
            raise _lost(exc) from None
        return box[0]

    def close(self, wait: bool = True) -> None:
        """Wait until every process is done (process 0 writes the summary first; not after a
        failure, where the others may never come), then leave the group."""
        if not self.enabled:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            if wait:
                try:
                    self.drain()
                    dist.barrier(group=self.control)
                except (RuntimeError, ProcessLost):
                    pass
            dist.destroy_process_group()
