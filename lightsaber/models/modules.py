"""PyTorch networks used by the built-in estimators: an MLP and a GRU/LSTM sequence encoder.

Inputs follow one naming convention so skorch can pass a dict of tensors as keyword arguments:
``static`` (n, p) for tabular features, ``values`` (n, steps, k) and ``lengths`` (n,) for padded
sequences (see :class:`lightsaber.data.PaddedSequences`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

__all__ = ["MLP", "SequenceNet"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "selu": nn.SELU}


def mlp_layers(in_features: int, hidden: Sequence[int], dropout: float, activation: str,
                batch_norm: bool) -> tuple[list[nn.Module], int]:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}.")
    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(_ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    return layers, width


class MLP(nn.Module):
    """A fully connected network: ``static`` features in, ``out_features`` scores out.

    Parameters
    ----------
    in_features : int
        Number of input features (set automatically by lightsaber's nets from the data).
    out_features : int, default 1
        1 for a binary logit or a survival risk; K for K classes or K discrete-time bins.
    hidden : sequence of int, default (64, 64)
        Widths of the hidden layers.
    dropout : float, default 0.0
        Dropout after each hidden layer.
    activation : {"relu", "gelu", "tanh", "selu"}
        Hidden-layer activation.
    batch_norm : bool, default False
        Batch normalisation after each hidden linear layer.

    Examples
    --------
    >>> net = MLP(in_features=3, hidden=(8,))
    >>> net(torch.zeros(5, 3)).shape
    torch.Size([5, 1])
    """

    def __init__(self, in_features: int, out_features: int = 1, hidden: Sequence[int] = (64, 64),
                 dropout: float = 0.0, activation: str = "relu", batch_norm: bool = False) -> None:
        super().__init__()
        layers, width = mlp_layers(in_features, hidden, dropout, activation, batch_norm)
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, static: torch.Tensor) -> torch.Tensor:
        """Scores for a batch of static feature rows."""
        return self.layers(static)


class SequenceNet(nn.Module):
    """A GRU or LSTM over padded sequences, optionally joined with static features.

    The sequences are packed (padding never reaches the recurrent cell), the initial state is
    zero (deterministic), and the last hidden state of the top layer is concatenated with the
    static features and passed through an MLP head.

    Parameters
    ----------
    in_features : int
        Measurements per time step (set automatically from the data).
    static_features : int, default 0
        Static features joined after the encoder (set automatically; 0 = none).
    out_features : int, default 1
        Output scores.
    hidden_size : int, default 64
        Recurrent state size.
    num_layers : int, default 1
        Stacked recurrent layers.
    cell : {"gru", "lstm"}
        Recurrent cell.
    dropout : float, default 0.0
        Dropout between recurrent layers and in the head.
    head : sequence of int, default ()
        Hidden widths of the head MLP.

    Examples
    --------
    >>> net = SequenceNet(in_features=4, static_features=2, hidden_size=8)
    >>> out = net(torch.zeros(3, 10, 4), torch.tensor([10, 2, 0]), torch.zeros(3, 2))
    >>> out.shape
    torch.Size([3, 1])
    """

    def __init__(self, in_features: int, static_features: int = 0, out_features: int = 1,
                 hidden_size: int = 64, num_layers: int = 1, cell: str = "gru",
                 dropout: float = 0.0, head: Sequence[int] = ()) -> None:
        super().__init__()
        if cell not in {"gru", "lstm"}:
            raise ValueError(f"cell must be 'gru' or 'lstm'; got {cell!r}.")
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(in_features, hidden_size, num_layers=num_layers, batch_first=True,
                       dropout=dropout if num_layers > 1 else 0.0)
        layers, width = mlp_layers(hidden_size + static_features, head, dropout, "relu", False)
        layers.append(nn.Linear(width, out_features))
        self.head = nn.Sequential(*layers)
        self.static_features = static_features

    def forward(self, values: torch.Tensor, lengths: torch.Tensor,
                static: torch.Tensor | None = None) -> torch.Tensor:
        """Scores for a batch of padded sequences (and their static features)."""
        packed = pack_padded_sequence(values, lengths.clamp(min=1).cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, state = self.rnn(packed)
        hidden = (state[0] if isinstance(state, tuple) else state)[-1]
        if self.static_features:
            if static is None:
                raise ValueError("this SequenceNet expects static features; pass `static`.")
            hidden = torch.cat([hidden, static], dim=1)
        return self.head(hidden)
