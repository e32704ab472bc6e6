"""BatchNorm over the global batch of a run on several processes.

``torch.nn.SyncBatchNorm`` does this on GPUs only: its kernels (``batch_norm_stats`` and
friends) have no CPU implementation, and it refuses CPU input. :class:`SyncBatchNorm` keeps
torch's SyncBatchNorm on a GPU; on the CPU, :class:`SyncBatchNorm` (same parameters, buffers
and state-dict keys as BatchNorm, so a checkpoint loads into a plain one) computes the same
statistics with ordinary tensor operations and collectives (:class:`_SyncNorm`):

- forward: each process's per-channel mean, biased variance and count are all-gathered
  and combined exactly (Chan's parallel formula, as ``batch_norm_gather_stats_with_counts``
  does), so every process normalises with the statistics of the global batch;
- backward: the per-channel sums of ``dy`` and ``dy * x̂`` are all-reduced, giving each
  process the gradient of the global batch's normalisation for its own samples.

The running statistics follow BatchNorm's update with the global mean and unbiased variance.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

GPU_DEVICES = ("cuda", "hpu", "xpu")


class _SyncNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, momentum, group):
        dims = [0, *range(2, x.dim())]
        xf = x.float()
        channels = x.shape[1]
        var, mean = torch.var_mean(xf, dim=dims, correction=0)
        count = torch.full((1,), xf.numel() // channels, dtype=torch.float32)
        local = torch.cat([mean, var, count])
        parts = [torch.empty_like(local) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, local, group=group)
        gathered = torch.stack(parts)
        means, variances = gathered[:, :channels], gathered[:, channels : 2 * channels]
        counts = gathered[:, 2 * channels :]
        total = counts.sum()
        mean = (means * counts).sum(0) / total
        var = ((variances + (means - mean).square()) * counts).sum(0) / total
        if running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1 - momentum).add_(var * (total / max(float(total) - 1, 1.0)), alpha=momentum)
        invstd = torch.rsqrt(var + eps)
        shape = [1, channels] + [1] * (x.dim() - 2)
        xhat = (xf - mean.view(shape)) * invstd.view(shape)
        out = xhat * weight.view(shape) + bias.view(shape) if weight is not None else xhat
        ctx.save_for_backward(xhat, weight, invstd)
        ctx.group, ctx.total, ctx.dims, ctx.shape, ctx.dtype = group, total, dims, shape, x.dtype
        return out.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        xhat, weight, invstd = ctx.saved_tensors
        dy = grad_out.float()
        sum_dy = dy.sum(ctx.dims)
        sum_dy_xhat = (dy * xhat).sum(ctx.dims)
        grad_weight = sum_dy_xhat if weight is not None else None  # local: DDP averages parameter gradients
        grad_bias = sum_dy.clone() if weight is not None else None
        sums = torch.cat([sum_dy, sum_dy_xhat])
        dist.all_reduce(sums, group=ctx.group)
        channels = sum_dy.numel()
        mean_dy = (sums[:channels] / ctx.total).view(ctx.shape)
        mean_dy_xhat = (sums[channels:] / ctx.total).view(ctx.shape)
        scale = invstd.view(ctx.shape) * (weight.view(ctx.shape) if weight is not None else 1.0)
        grad_x = (dy - mean_dy - xhat * mean_dy_xhat) * scale
        return grad_x.to(ctx.dtype), grad_weight, grad_bias, None, None, None, None, None


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the global batch on the CPU (DDP refuses torch's SyncBatchNorm on CPU modules)."""

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size(self.group) > 1):
            return super().forward(x)
        self._check_input_dim(x)
        momentum = self.momentum if self.momentum is not None else 0.1
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
        return _SyncNorm.apply(x, self.weight, self.bias, self.running_mean if self.track_running_stats else None,
                               self.running_var if self.track_running_stats else None, self.eps, momentum, self.group)


def convert_sync_batchnorm(module: nn.Module, device: torch.device, group=None) -> nn.Module:
    """Every BatchNorm of ``module`` made to normalise over the global batch: torch's SyncBatchNorm
    on a GPU, :class:`SyncBatchNorm` on the CPU; each holds the same parameter and buffer tensors
    (so the optimizer's parameters stay valid)."""
    if device.type in GPU_DEVICES:
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncBatchNorm):
        sync = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                             module.track_running_stats, group=group)
        if module.affine:
            sync.weight, sync.bias = module.weight, module.bias
        if module.track_running_stats:
            sync.running_mean, sync.running_var = module.running_mean, module.running_var
            sync.num_batches_tracked = module.num_batches_tracked
        sync.training = module.training
        return sync
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, device, group))
    return module
