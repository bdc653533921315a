"""Data-parallel training across the processes ``torchrun`` starts: gloo on CPU, NCCL on GPU.

Every rank runs the one training loop on its own share of each step's seeded batch. After each
phase's backward pass the ranks average their gradients (one all-reduce of a flat buffer), so every
rank takes the same optimiser step and the weights stay identical: DistributedDataParallel's
arithmetic. It is done here rather than by wrapping a module in ``DistributedDataParallel`` because a
phase's loss calls several networks (a GAN's generator loss runs the discriminator) and DDP only sees
the forward pass of the one module it wraps.

The losses are averaged too, before the divergence guard reads them, so all ranks roll back together.
Rank 0 alone writes checkpoints, logs, previews and the registration.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """Where this process stands among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


SINGLE = World()


def world_from_env() -> World:
    """The world ``torchrun`` describes in RANK / WORLD_SIZE / LOCAL_RANK (one process when they are unset)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE
    return World(rank=int(os.environ["RANK"]), size=size, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def start(world: World, device: str) -> str:
    """Join the process group (NCCL for CUDA, gloo for the CPU); returns this rank's device."""
    if not world.active:
        return device
    if device == "cuda":
        torch.cuda.set_device(world.local_rank)
        device = f"cuda:{world.local_rank}"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return device


def stop(world: World) -> None:
    if world.active and dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.active:
        dist.barrier()


def shard(batch: Any, world: World) -> Any:
    """This rank's contiguous share of a batch (a tensor, or a tuple/list/dict of them) along dim 0."""
    if not world.active:
        return batch
    if torch.is_tensor(batch):
        n = batch.shape[0]
        if n % world.size:
            raise ValueError(f"a batch of {n} does not split evenly over {world.size} processes; "
                             f"pick --nproc_per_node that divides the preset's batch size ({n})")
        share = n // world.size
        return batch[world.rank * share:(world.rank + 1) * share]
    if isinstance(batch, (tuple, list)):
        return type(batch)(shard(b, world) for b in batch)
    if isinstance(batch, dict):
        return {k: shard(v, world) for k, v in batch.items()}
    return batch  # not batched data (e.g. a step number): every rank keeps it


def average_gradients(params: Iterable[nn.Parameter], world: World) -> None:
    """Replace each gradient by its mean over the ranks, in one all-reduce."""
    if not world.active:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def average_values(values: list[float], world: World, device: torch.device) -> list[float]:
    """The mean over the ranks of each number, so every rank reads (and logs) the same loss."""
    if not world.active or not values:
        return values
    flat = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(flat)
    return (flat / world.size).tolist()


def broadcast_state(module: nn.Module, world: World) -> None:
    """Rank 0's parameters and buffers on every rank: one starting point, and shared BatchNorm statistics."""
    if not world.active:
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if torch.is_tensor(tensor):
                dist.broadcast(tensor, src=0)


def broadcast_buffers(module: nn.Module, world: World) -> None:
    """Rank 0's floating-point buffers on every rank, in one broadcast: each rank updates BatchNorm's running
    statistics from its own shard, and DDP's answer is to keep rank 0's."""
    if not world.active:
        return
    buffers = [b for b in module.buffers() if b.is_floating_point()]
    if not buffers:
        return
    with torch.no_grad():
        flat = torch.cat([b.reshape(-1).to(buffers[0].dtype) for b in buffers])
        dist.broadcast(flat, src=0)
        offset = 0
        for b in buffers:
            b.copy_(flat[offset:offset + b.numel()].view_as(b))
            offset += b.numel()
