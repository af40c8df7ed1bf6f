"""Data-parallel training with ``torchrun``: the same ``fit`` on every rank.

Launched as ``torchrun --nproc_per_node=N ...`` the environment carries RANK, WORLD_SIZE and
LOCAL_RANK; ``setup`` then joins the process group (gloo on CPU, nccl on CUDA). Launched as
a plain ``python``, it is a world of one and nothing distributed happens.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from pizarra.errors import BadInput


@dataclass
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False  # True when setup() created the process group (so it destroys it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_(self, t: torch.Tensor, op=dist.ReduceOp.SUM) -> torch.Tensor:
        if self.world_size > 1:
            dist.all_reduce(t, op=op)
        return t

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on some rank (so all ranks stop together)."""
        if self.world_size == 1:
            return flag
        t = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if self.world_size == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj) -> list:
        """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
        if self.world_size == 1:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput(f"Device {name!r} was asked for, but PyTorch sees no CUDA GPU here; use 'cpu'.")
    return torch.device(name)


def setup(device: str = "auto") -> DistContext:
    """Join the process group when launched by torchrun; else a world of one."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world_size == 1:
        return DistContext(0, 1, 0, dev)
    owns = False
    if not dist.is_initialized():
        local = os.environ.get("MASTER_ADDR", "localhost") in ("localhost", "127.0.0.1")
        if dev.type == "cpu" and local and sys.platform.startswith("linux"):
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # offline laptops: loopback only
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        owns = True
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, dev, owns)
