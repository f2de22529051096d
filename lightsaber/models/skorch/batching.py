"""Batches by slicing in-memory tensors, instead of per-sample ``Dataset`` indexing.

skorch's default ``DataLoader`` over ``skorch.dataset.Dataset`` indexes one row at a time and
collates; for tabular data that costs more than the network. :class:`TensorSource` holds the
whole split as tensors and :func:`iterate_batches` yields contiguous or shuffled slices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["BatchLoader", "TensorSource", "as_tensor_tree", "iterate_batches"]

TensorTree = torch.Tensor | Mapping[str, torch.Tensor]


def as_tensor_tree(data) -> TensorTree:
    """Convert an array or a dict of arrays to (a dict of) tensors without copying if possible.

    float64 arrays become float32: networks here train in float32, and the conversion happens
    once, explicitly, instead of silently per batch.
    """
    if isinstance(data, Mapping):
        return {k: as_tensor_tree(v) for k, v in data.items() if v is not None}
    if isinstance(data, torch.Tensor):
        return data
    array = np.asarray(data)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    elif array.dtype == bool:
        array = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array))


def _length(tree: TensorTree) -> int:
    if isinstance(tree, Mapping):
        return len(next(iter(tree.values())))
    return len(tree)


def _take(tree: TensorTree, index) -> TensorTree:
    if isinstance(tree, Mapping):
        return {k: v[index] for k, v in tree.items()}
    return tree[index]


@dataclass
class TensorSource:
    """A whole split as tensors: ``X`` (tensor or dict of tensors) and optional ``y``.

    Has ``X``/``y`` attributes and ``len``, which is what skorch's helpers look for.
    """

    X: TensorTree
    y: torch.Tensor | None = None

    def __len__(self) -> int:
        return _length(self.X)


def iterate_batches(source: TensorSource, batch_size: int, *, shuffle: bool = False,
                    generator: torch.Generator | None = None,
                    shard: tuple[int, int] | None = None
                    ) -> Iterator[tuple[TensorTree, torch.Tensor | None]]:
    """Yield ``(X_batch, y_batch)`` slices of ``source``.

    Examples
    --------
    >>> src = TensorSource(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    >>> [len(yb) for _, yb in iterate_batches(src, 2)]
    [2, 2, 1]
    """
    n = len(source)
    if batch_size is None or batch_size < 0:
        batch_size = n
    if shuffle or shard is not None:
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        if shard is not None:  # data parallel: every process gets an equal share of the order
            rank, world = shard
            per_process = n // world
            order = order[rank * per_process:(rank + 1) * per_process]
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield _take(source.X, index), None if source.y is None else source.y[index]
    else:
        for start in range(0, n, batch_size):
            index = slice(start, start + batch_size)
            yield _take(source.X, index), None if source.y is None else source.y[index]


@dataclass
class BatchLoader:
    """Re-iterable batches over a :class:`TensorSource` (what skorch expects of a loader).

    Each ``iter()`` is one pass; with ``shuffle`` every pass draws a new order from
    ``generator``, so a seeded generator gives the same sequence of epochs every run.
    """

    source: TensorSource
    batch_size: int
    shuffle: bool = False
    generator: torch.Generator | None = None
    shard: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[tuple[TensorTree, torch.Tensor | None]]:
        return iterate_batches(self.source, self.batch_size, shuffle=self.shuffle,
                               generator=self.generator, shard=self.shard)

    def __len__(self) -> int:
        n, size = len(self.source), self.batch_size
        if self.shard is not None:
            n //= self.shard[1]
        return 1 if size is None or size < 0 else -(-n // size)
