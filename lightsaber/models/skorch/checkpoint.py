"""Crash-safe checkpoints: every file is written to a temporary name, then renamed into place.

skorch's :class:`~skorch.callbacks.Checkpoint` writes ``params.pt`` in place, so a process
killed (``SIGTERM``, ``SIGKILL``, out of memory) half way through leaves a truncated file that
the next ``load_params`` fails on, or worse, a file from the previous epoch's name holding half
of this one. It also swallows write errors (a full disk) into its ``sink``. This module's
:class:`AtomicCheckpoint` writes each file next to its target, flushes it to disk and
``os.replace``-s it over the target, so the target is always either the previous complete
checkpoint or the new complete one, and raises :class:`CheckpointError` when a write fails.

Weights are read back with :func:`load_weights`, which uses ``torch.load(weights_only=True)``:
a checkpoint from an untrusted place cannot run code when loaded (see ``docs/reliability.md``).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch
from skorch.callbacks import Checkpoint

from lightsaber.exceptions import CheckpointError

__all__ = ["AtomicCheckpoint", "CheckpointError", "load_weights", "restore_checkpoint"]

#: File name of the module weights that :class:`AtomicCheckpoint` writes by default.
PARAMS_FILE = "params.pt"


class AtomicCheckpoint(Checkpoint):
    """skorch's ``Checkpoint`` with atomic file replacement and loud write errors.

    Takes the same arguments as :class:`skorch.callbacks.Checkpoint`. Each file (``f_params``,
    ``f_history``, ...) is first written to a hidden temporary file in ``dirname``, flushed
    with ``fsync``, then renamed over the target with :func:`os.replace` (atomic on POSIX and
    Windows). A failed write removes the temporary file and raises :class:`CheckpointError`
    naming the target path, instead of printing a message and training on without a
    checkpoint.

    Notes
    -----
    Each file is replaced atomically, one after the other: a process killed between two
    replacements keeps the new weights with the previous epoch's history. The weights file is
    never partial.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sksurv.util import Surv
    >>> from lightsaber.models import MLP, SurvivalNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(60) < 0.7, rng.exponential(1.0, 60))
    >>> folder = tempfile.mkdtemp()
    >>> net = SurvivalNet(MLP, module__hidden=(4,), max_epochs=2, checkpoint_dir=folder)
    >>> _ = net.fit(X[:40], y[:40], val=(X[40:], y[40:]))
    >>> sorted(p.name for p in Path(folder).iterdir())
    ['history.json', 'params.pt']
    >>> sorted(load_weights(Path(folder) / "params.pt"))[:2]
    ['layers.0.bias', 'layers.0.weight']
    """

    def _save_params(self, f: Any, net: Any, f_name: str, log_name: str) -> None:
        if not isinstance(f, (str, os.PathLike)):  # a file object: the caller owns it
            net.save_params(**{f_name: f, "use_safetensors": self.use_safetensors})
            return
        target = Path(f)
        tmp = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                           suffix=".tmp")
            os.close(handle)
            net.save_params(**{f_name: tmp, "use_safetensors": self.use_safetensors})
            with open(tmp, "rb+") as written:
                os.fsync(written.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as err:
            raise CheckpointError(
                f"could not write the checkpoint {log_name} to '{target}': "
                f"{err.strerror or err}. Free space or choose another `checkpoint_dir`; the "
                "previous checkpoint file, if any, is unchanged."
            ) from err
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)


def load_weights(path: str | os.PathLike, *, map_location: str = "cpu"
                 ) -> dict[str, torch.Tensor]:
    """Read a weights file (a ``state_dict``) safely: tensors only, no code is run.

    Parameters
    ----------
    path : path
        A ``params.pt`` written by :class:`AtomicCheckpoint` (or ``torch.save(state_dict)``).
    map_location : str, default "cpu"
        Device to load the tensors onto.

    Returns
    -------
    dict of str to Tensor

    Raises
    ------
    CheckpointError
        The file is missing, truncated, not a weights file, or holds objects other than
        tensors (which ``weights_only=True`` refuses to unpickle).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "params.pt"
    >>> torch.save({"w": torch.ones(2)}, path)
    >>> load_weights(path)["w"].tolist()
    [1.0, 1.0]
    >>> _ = path.write_bytes(path.read_bytes()[:40])
    >>> load_weights(path)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.CheckpointError: could not read weights from ...
    """
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"no checkpoint weights at '{source}'.")
    try:
        state = torch.load(source, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
        raise CheckpointError(
            f"could not read weights from '{source}': {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}. The file is truncated, not a "
            "weights file, or holds objects other than tensors (refused for safety)."
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f"'{source}' does not hold a state_dict of tensors.")
    return state


def restore_checkpoint(net: Any, dirname: str | os.PathLike, *,
                       f_params: str = PARAMS_FILE) -> Any:
    """Load checkpointed weights into a fitted (initialised) lightsaber net, safely.

    Parameters
    ----------
    net : ClassifierNet or SurvivalNet
        A net with the same architecture, already fitted or initialised.
    dirname : path
        The ``checkpoint_dir`` the weights were written to.
    f_params : str, default "params.pt"
        Weights file name inside ``dirname``.

    Returns
    -------
    net
        The same net, holding the checkpoint's weights.

    Raises
    ------
    CheckpointError
        Unreadable weights (see :func:`load_weights`), or weights that do not fit the module.
    """
    state = load_weights(Path(dirname) / f_params)
    try:
        net.module_.load_state_dict(state)
    except (RuntimeError, AttributeError) as err:
        raise CheckpointError(
            f"the weights in '{Path(dirname) / f_params}' do not fit this net's module: "
            f"{str(err).splitlines()[0]}") from err
    return net
