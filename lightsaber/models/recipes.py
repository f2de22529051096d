"""Named survival models: a network, a loss and an output reading, ready to fit.

Each recipe is a :class:`~lightsaber.models.SurvivalNet` with defaults, so everything a
``SurvivalNet`` does (validation-based early stopping, ``ls.fit``, tracking, ``clone``,
pickling, sequences through :class:`~lightsaber.models.SequenceNet`) applies unchanged:

=================  ======================  =========================================
recipe             loss                    survival curves from
=================  ======================  =========================================
``DeepSurv``       ``"cox_efron"``         Breslow baseline
``RankSVX``        ``"ranking"``           Breslow baseline on the ranking score
``VAECox``         VAE pre-training, Cox   Breslow baseline
``DeepHit``        ``"deephit"``           discrete PMF on the fitted grid
``LogisticHazard`` ``"logistic_hazard"``   discrete hazards on the fitted grid
``PMF``            ``"pmf"``               discrete PMF on the fitted grid
``MTLR``           ``"mtlr"``              N-MTLR on the fitted grid
``WeibullAFT``     ``"weibull_aft"``       Weibull scale and shape per row
=================  ======================  =========================================

Every recipe takes ``module`` (default :class:`~lightsaber.models.MLP`; pass
``SequenceNet`` for longitudinal input) and any ``SurvivalNet`` parameter (``lr``,
``max_epochs``, ``module__hidden`` ...). :class:`VAECox` reads tabular features only: its
decoder reconstructs them (``ls.fit`` flattens a longitudinal cohort for it).

The competing-risks counterparts of ``DeepHit`` and ``LogisticHazard`` (a
competing-risks target, cumulative incidence per cause) are
:class:`~lightsaber.models.DeepHitCompeting` and
:class:`~lightsaber.models.LogisticHazardCompeting`, in
:mod:`lightsaber.models.competing_recipes`.

All recipes but ``VAECox`` differ from a plain ``SurvivalNet`` only in their default loss, so
they are rows of one table (:data:`_RECIPES`) turned into classes by :func:`_recipe_class`;
``VAECox`` adds pre-training and is written out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lightsaber._moved import renamed_keywords
from lightsaber.exceptions import ArgumentError
from lightsaber.models.modules import MLP, mlp_layers
from lightsaber.models.nets import SurvivalNet
from lightsaber.models.nets.base import describe_defaults, with_defaults
from lightsaber.models.skorch.batching import BatchLoader, TensorSource

__all__ = [
    "DeepHit",
    "DeepSurv",
    "LogisticHazard",
    "MTLR",
    "PMF",
    "RankSVX",
    "VAECox",
    "VAECoxNetwork",
    "WeibullAFT",
]


@dataclass(frozen=True)
class _RecipeSpec:
    """One recipe: class name, default loss, docstring, example tail and changed defaults.

    The example runs (as a doctest) after :data:`_EXAMPLE_DATA`, which makes ``X`` and ``y``.
    ``defaults`` are the ``SurvivalNet`` parameters this recipe sets differently (the winners
    of ``benchmarks/defaults_study.py``); what the caller passes always wins.
    """

    name: str
    loss: str
    doc: str
    example: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def docstring(self) -> str:
        """The class docstring: ``doc``, the changed defaults, an Examples section."""
        defaults = f"\n\n{describe_defaults(self.defaults)}" if self.defaults else ""
        return (f"{inspect.cleandoc(self.doc)}{defaults}\n\nExamples\n--------\n"
                f"{_EXAMPLE_DATA}{inspect.cleandoc(self.example)}\n")


_EXAMPLE_DATA = """\
>>> from sksurv.util import Surv
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3)).astype("float32")
>>> y = Surv.from_arrays(rng.random(200) < 0.7, rng.exponential(np.exp(-X[:, 0])))
"""

#: Candidates of ``benchmarks/defaults_study.py`` that won for some recipe (a recipe changes
#: only when its winner's mean validation rank beats the old defaults' by more than 0.25).
#: DeepSurv and DeepHit keep SurvivalNet's defaults (no candidate beat them by that margin).
#: A smaller MLP with dropout, trained with a larger step for longer (early stopping ends it).
SMALL_DROPOUT_FAST: Mapping[str, Any] = {
    "module__hidden": (32, 32), "module__dropout": 0.1, "lr": 3e-3, "max_epochs": 500,
    "early_stopping": 20}
#: The same without the larger step.
SMALL_DROPOUT: Mapping[str, Any] = {**SMALL_DROPOUT_FAST, "lr": 1e-3}
#: SurvivalNet's MLP (2 x 64) with dropout and weight decay, trained for longer.
WIDE_DROPOUT_DECAY: Mapping[str, Any] = {
    "module__dropout": 0.1, "optimizer__weight_decay": 1e-4, "max_epochs": 500,
    "early_stopping": 20}

#: The recipes that are a ``SurvivalNet`` with another default loss.
_RECIPES = (
    _RecipeSpec("DeepSurv", "cox_efron", """
        DeepSurv (Katzman et al. 2018): an MLP trained on the Cox partial likelihood.

        Efron's tie correction by default (``loss="cox"`` for Breslow's).
        """, """
        >>> DeepSurv(max_epochs=3).fit(X, y).predict_median_time(X[:2]).shape
        (2,)
        """),
    _RecipeSpec("RankSVX", "ranking", """
        RankSVX: a network trained on the pairwise ranking hinge of survival SVMs.

        ``loss_options`` sets ``margin``, ``regression_weight`` (the hybrid survival-SVM term on
        log time) and ``max_pairs`` (sampled pairs per batch, bounding memory). Survival curves
        come from a Breslow baseline on the learnt score, so they rank well but are only as
        calibrated as a Cox model on that score.
        """, """
        >>> net = RankSVX(max_epochs=3, loss_options={"margin": 0.5}).fit(X, y)
        >>> net.predict(X[:2]).shape
        (2,)
        """, defaults=WIDE_DROPOUT_DECAY),
    _RecipeSpec("DeepHit", "deephit", """
        DeepHit, single risk (Lee et al. 2018): PMF likelihood plus a ranking term (pycox's).

        ``loss_options={"alpha": ..., "sigma": ...}``; ``cuts`` / ``cut_scheme`` set the grid.
        """, """
        >>> DeepHit(cuts=10, max_epochs=3).fit(X, y).predict_survival_function(X[:1])[0].y.shape
        (10,)
        """),
    _RecipeSpec("LogisticHazard", "logistic_hazard", """
        Logistic hazard / Nnet-survival (Kvamme & Borgan 2019; Gensheimer & Narasimhan 2019).
        """, """
        >>> LogisticHazard(cuts=10, max_epochs=3).fit(X, y).unique_times_.shape
        (10,)
        """, defaults={**SMALL_DROPOUT, "cut_scheme": "quantiles"}),
    _RecipeSpec("PMF", "pmf", """
        Discrete-time PMF model (Kvamme & Borgan 2019), pycox's ``PMF``.
        """, """
        >>> PMF(cuts=10, max_epochs=3).fit(X, y).predict(X[:2]).shape
        (2,)
        """, defaults=SMALL_DROPOUT_FAST),
    _RecipeSpec("MTLR", "mtlr", """
        Neural multi-task logistic regression, N-MTLR (Fotso 2018), pycox's ``MTLR``.
        """, """
        >>> MTLR(cuts=10, max_epochs=3).fit(X, y).predict(X[:2]).shape
        (2,)
        """, defaults=SMALL_DROPOUT),
    _RecipeSpec("WeibullAFT", "weibull_aft", """
        A network predicting Weibull scale and shape per row (accelerated failure time).

        With ``module__hidden=()`` it is the linear Weibull AFT model of R ``survreg`` with a
        covariate-dependent shape. Durations are divided by their training median for training
        (``time_scale_``), so the network's zero-initialised output starts at a plausible scale;
        predictions are in the original units.
        """, """
        >>> WeibullAFT(max_epochs=3).fit(X, y).predict_median_time(X[:2]).shape
        (2,)
        """, defaults=SMALL_DROPOUT_FAST),
)


def _recipe_class(spec: _RecipeSpec) -> type[SurvivalNet]:
    """A ``SurvivalNet`` subclass named ``spec.name`` whose ``loss`` defaults to ``spec.loss``.

    ``__init__`` is a real function with explicit parameters (the default is bound when it is
    defined), so ``inspect.signature``, scikit-learn's ``get_params`` / ``clone`` and ``help``
    see the same signature as a hand-written class; ``__module__`` / ``__qualname__`` make the
    class picklable by reference once it is bound to its name in this module.
    """

    def __init__(self, module: type[nn.Module] | nn.Module = MLP, *,
                 loss: str | Callable[..., torch.Tensor] = spec.loss, **kwargs: Any) -> None:
        super(cls, self).__init__(module, loss=loss,
                                  **with_defaults(module, kwargs, spec.defaults))

    __init__.__qualname__ = f"{spec.name}.__init__"
    cls = type(spec.name, (SurvivalNet,), {
        "__init__": __init__, "__doc__": spec.docstring, "__module__": __name__,
        "__qualname__": spec.name})
    return cls


DeepSurv, RankSVX, DeepHit, LogisticHazard, PMF, MTLR, WeibullAFT = map(_recipe_class, _RECIPES)

class VAECoxNetwork(nn.Module):
    """A variational auto-encoder whose latent mean feeds a Cox (risk) head.

    ``forward(static)`` returns the risk from the latent mean (deterministic);
    :meth:`reconstruct` returns ``(reconstruction, mu, logvar)`` for pre-training, sampling the
    latent code with the reparameterisation trick in training mode.

    Parameters
    ----------
    in_features : int
        Input features (set from the data).
    out_features : int, default 1
        Output columns of the head (1 for a risk).
    latent_features : int, default 16
        Size of the latent code.
    hidden : sequence of int, default (64,)
        Encoder hidden widths (the decoder mirrors them).
    dropout : float, default 0.0
        Dropout in the encoder and before the head.
    activation : str, default "relu"
        Hidden activation.

    Examples
    --------
    >>> net = VAECoxNetwork(in_features=5, latent_features=2, hidden=(4,))
    >>> net(torch.zeros(3, 5)).shape, net.reconstruct(torch.zeros(3, 5))[0].shape
    (torch.Size([3, 1]), torch.Size([3, 5]))
    """

    def __init__(self, in_features: int, out_features: int = 1, latent_features: int = 16,
                 hidden: Sequence[int] = (64,), dropout: float = 0.0,
                 activation: str = "relu") -> None:
        super().__init__()
        layers, width = mlp_layers(in_features, hidden, dropout, activation, False)
        self.encoder = nn.Sequential(*layers, nn.Linear(width, 2 * latent_features))
        layers, width = mlp_layers(latent_features, tuple(reversed(hidden)), 0.0, activation,
                                    False)
        self.decoder = nn.Sequential(*layers, nn.Linear(width, in_features))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(latent_features, out_features))
        self.latent_features = latent_features

    def encode(self, static: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent mean and log-variance."""
        mu, logvar = self.encoder(static).chunk(2, dim=1)
        return mu, logvar

    def reconstruct(self, static: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                          torch.Tensor]:
        """``(reconstruction, mu, logvar)``; samples the code in training mode."""
        mu, logvar = self.encode(static)
        code = mu
        if self.training:
            code = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(code), mu, logvar

    def forward(self, static: torch.Tensor) -> torch.Tensor:
        """Risk from the latent mean."""
        return self.head(self.encode(static)[0])


#: VAECox's winner of the defaults study: a smaller encoder and code, dropout, a larger step.
VAECOX_DEFAULTS: Mapping[str, Any] = {
    "module__hidden": (32,), "module__latent_features": 8, "module__dropout": 0.1,
    "lr": 3e-3, "max_epochs": 500, "early_stopping": 20}


class VAECox(SurvivalNet):
    """VAECox (Kim et al., Bioinformatics 2020): pre-train a VAE on features, then Cox.

    ``fit`` first trains :class:`VAECoxNetwork`'s encoder and decoder on the negative ELBO
    (:func:`lightsaber.losses.vae_loss`) for ``pretrain_epochs`` over the training features
    plus any ``unlabelled`` rows (missing values allowed there: they are masked out of the
    reconstruction), then fine-tunes encoder and Cox head on the Cox loss like
    :class:`DeepSurv`. ``pretrain_history_`` holds the per-epoch ELBO.

    Parameters
    ----------
    module : nn.Module class, default VAECoxNetwork
        Needs ``reconstruct(static) -> (reconstruction, mu, logvar)``.
    loss : str or callable, default "cox_efron"
        Fine-tuning loss.
    pretrain_epochs : int, default 50
        VAE epochs (0 skips pre-training).
    pretrain_lr : float, default 1e-3
        Adam learning rate of pre-training.
    beta : float, default 1.0
        KL weight of the ELBO.
    **kwargs
        As for :class:`SurvivalNet` (``module__latent_features``, ``module__hidden`` ...).

    Notes
    -----
    Defaults (chosen across nine cohorts by validation metrics,
    ``benchmarks/defaults_study.py``; ``docs/benchmarks.md``): ``module__hidden=(32,)``,
    ``module__latent_features=8``, ``module__dropout=0.1``, ``lr=0.003``, ``max_epochs=500``,
    ``early_stopping=20``. ``module__*`` defaults apply to lightsaber's own modules only.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(200) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    >>> net = VAECox(pretrain_epochs=2, max_epochs=2, module__latent_features=2)
    >>> net.fit(X, y, unlabelled=rng.normal(size=(50, 3))).predict(X[:2]).shape
    (2,)
    >>> len(net.pretrain_history_)
    2
    """

    def __init__(self, module: type[nn.Module] | nn.Module = VAECoxNetwork, *,
                 loss: str | Callable[..., torch.Tensor] = "cox_efron",
                 pretrain_epochs: int = 50, pretrain_lr: float = 1e-3, beta: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(module, loss=loss, **with_defaults(module, kwargs, VAECOX_DEFAULTS))
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.beta = beta

    @renamed_keywords(validation="val")
    def fit(self, X: Any, y: Any = None, val: tuple[Any, Any] | None = None,
            unlabelled: Any = None, **fit_params: Any) -> VAECox:
        """Pre-train on ``X`` (+ ``unlabelled`` rows), then fine-tune on ``(X, y)``."""
        if isinstance(X, dict) and "values" in X:
            raise ArgumentError(
                "VAECox reconstructs tabular features and cannot read sequences; flatten the "
                "longitudinal data (ls.fit does so for tabular modules) or use DeepSurv with "
                "SequenceNet.")
        if not isinstance(self.pretrain_epochs, (int, np.integer)) or self.pretrain_epochs < 0:
            raise ArgumentError(
                f"pretrain_epochs must be a non-negative integer; got {self.pretrain_epochs!r}.")
        features = np.asarray(X["static"] if isinstance(X, dict) else X, dtype=np.float32)
        if unlabelled is not None:
            extra = np.asarray(unlabelled, dtype=np.float32)
            if extra.ndim != 2 or extra.shape[1] != features.shape[1]:
                raise ArgumentError(
                    f"unlabelled must have {features.shape[1]} columns like X; got shape "
                    f"{extra.shape}.")
            features = np.vstack([features, extra])
        self._pretrain_features = features
        try:
            return super().fit(X, y, val=val, **fit_params)
        finally:
            self._pretrain_features = None

    def initialize_module(self) -> VAECox:
        """Build the network and, inside ``fit``, pre-train it as a VAE."""
        super().initialize_module()
        features = getattr(self, "_pretrain_features", None)
        self.pretrain_history_: list[float] = []
        if features is not None and self.pretrain_epochs:
            self._pretrain(features)
        return self

    def _pretrain(self, features: np.ndarray) -> None:
        from lightsaber.losses import vae_loss

        module = self.module_
        if not hasattr(module, "reconstruct"):
            raise ArgumentError(
                f"VAECox needs a module with reconstruct(static); {type(module).__name__} has "
                "none (use VAECoxNetwork).")
        mask = torch.as_tensor(~np.isnan(features))
        values = torch.as_tensor(np.nan_to_num(features, nan=0.0))
        source = TensorSource({"values": values, "mask": mask}, None)
        parameters = list(module.encoder.parameters()) + list(module.decoder.parameters())
        optimizer = torch.optim.Adam(parameters, lr=self.pretrain_lr)
        module.train()
        for _ in range(self.pretrain_epochs):
            total, rows = 0.0, 0
            for batch, _ in BatchLoader(source, self.batch_size, shuffle=True,
                                        generator=getattr(self, "_generator", None)):
                x = batch["values"].to(self.device)
                batch_mask = batch["mask"].to(self.device)
                reconstruction, mu, logvar = module.reconstruct(x)
                loss = vae_loss(reconstruction, x, mu, logvar, beta=self.beta, mask=batch_mask)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(x)
                rows += len(x)
            self.pretrain_history_.append(total / max(rows, 1))
