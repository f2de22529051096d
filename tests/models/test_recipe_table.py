"""The recipe table (``lightsaber.models.recipes._RECIPES``) gives ordinary classes.

Each row becomes a class that is indistinguishable, to the tools that look, from the
hand-written one it replaced: bound under its own name in ``lightsaber.models.recipes``, with an
explicit ``__init__`` signature (what ``inspect``, ``help`` and scikit-learn read), a numpydoc
docstring with a runnable example, pickling by reference and subclassing with ``super()``.
"""

from __future__ import annotations

import inspect
import pickle
import pydoc
import re

import pytest
from sklearn.base import clone

import lightsaber.models
from lightsaber.models import MLP, SurvivalNet, recipes
from lightsaber.models.recipes import _RECIPES

SPECS = {spec.name: spec for spec in _RECIPES}


def test_every_row_is_exported_once():
    assert len(SPECS) == len(_RECIPES)
    assert set(SPECS) <= set(recipes.__all__)
    assert set(recipes.__all__) - set(SPECS) == {"VAECox", "VAECoxNetwork"}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_class_is_bound_under_its_own_name(name):
    cls = getattr(recipes, name)
    assert cls is getattr(lightsaber.models, name)
    assert (cls.__name__, cls.__qualname__, cls.__module__) == (
        name, name, "lightsaber.models.recipes")
    assert cls.__mro__[1] is SurvivalNet
    assert cls.__init__.__qualname__ == f"{name}.__init__"
    assert pickle.loads(pickle.dumps(cls)) is cls


@pytest.mark.parametrize("name", sorted(SPECS))
def test_signature_is_explicit_with_the_recipe_loss(name):
    parameters = inspect.signature(getattr(recipes, name)).parameters
    assert list(parameters) == ["module", "loss", "kwargs"]
    assert parameters["module"].default is MLP
    assert parameters["loss"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["loss"].default == SPECS[name].loss
    assert parameters["kwargs"].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("name", sorted(SPECS))
def test_params_and_clone(name):
    net = getattr(recipes, name)(max_epochs=2, module__hidden=(4,), lr=0.02)
    params = net.get_params()
    assert (params["module"], params["loss"], params["max_epochs"]) == (MLP, SPECS[name].loss, 2)
    assert params["module__hidden"] == (4,) and params["lr"] == 0.02
    twin = clone(net)
    assert type(twin) is type(net)
    assert {k: v for k, v in twin.get_params().items() if not k.startswith("callbacks__")} == {
        k: v for k, v in params.items() if not k.startswith("callbacks__")}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_docstring_is_numpydoc_with_a_runnable_example(name):
    doc = getattr(recipes, name).__doc__
    assert doc.startswith(inspect.cleandoc(SPECS[name].doc).splitlines()[0])
    assert "\nExamples\n--------\n>>> from sksurv.util import Surv\n" in doc
    assert f">>> {name}(" in doc or f"= {name}(" in doc
    page = pydoc.render_doc(getattr(recipes, name), renderer=pydoc.plaintext)
    assert f"{name}(module: " in page and f"= '{SPECS[name].loss}'" in page  # help() shows both


def test_module_docstring_table_names_each_recipe_loss():
    rows = dict(re.findall(r'^``(\w+)``\s+``"(\w+)"``', recipes.__doc__, flags=re.M))
    assert rows == {name: spec.loss for name, spec in SPECS.items()}


def test_subclass_with_its_own_init_chains_through_super():
    class Tuned(recipes.DeepHit):
        def __init__(self, module=MLP, *, extra=1, **kwargs):
            super().__init__(module, **kwargs)
            self.extra = extra

    net = Tuned(extra=3, cuts=5)
    assert (net.loss, net.cuts, net.extra) == ("deephit", 5, 3)
    assert clone(net).get_params()["extra"] == 3
