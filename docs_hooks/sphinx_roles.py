"""Griffe extension: numpydoc's Sphinx roles become mkdocstrings cross-references.

lightsaber's docstrings are numpydoc (Sphinx) style, so they cross-reference with roles such as
``:func:`~lightsaber.losses.cox_ph_loss``` or ``:class:`SurvivalNet```. mkdocstrings renders
Markdown and would show those roles as raw text. This extension, loaded by the mkdocstrings
Python handler (``extensions:`` in ``mkdocs.yml``), rewrites every docstring of the package once
it is loaded, before anything is rendered:

* ``:role:`target```, ``:role:`~target``` (title: the last component) and
  ``:role:`title <target>``` for the roles ``func``, ``class``, ``mod``, ``meth``, ``attr``,
  ``data``, ``exc``, ``obj``, ``const``, ``any`` and ``ref`` (with or without the ``py:``
  domain) become ``<autoref identifier="..." optional>`title`</autoref>``, the marker
  mkdocs-autorefs turns into a link. Short and relative names (``ConfigurationError``,
  ``.store.TrialLogger``, a method of the documented class) are resolved in the scope of the
  object whose docstring it is. ``optional`` means a target that is not in the site (a private
  helper, numpy, scikit-learn) renders as code text instead of failing ``mkdocs build --strict``;
  ``:role:`!target``` is never linked.
* ``:math:`x``` becomes code (``x``): there is no math rendering in the site.
* A ``.. math::`` directive line is dropped, so its indented body shows as a code block.

Sphinx itself is not involved; nothing is changed in the source files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import griffe

__all__ = ["SphinxRoles", "rewrite"]

ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|mod|meth|attr|data|exc|obj|const|any|ref):"
    r"`(?P<body>[^`]+)`")
MATH_ROLE = re.compile(r":math:`(?P<body>[^`]+)`")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*$", flags=re.M)
EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$", flags=re.S)
UNDERLINE = re.compile(r"[ \t]*-{3,}[ \t]*")
#: numpydoc sections whose items are ``name : type`` (or a bare type) lines.
TYPED_SECTIONS = {"parameters", "other parameters", "returns", "yields", "receives", "raises",
                  "warns", "attributes"}


def _resolve(obj: griffe.Object | None, target: str, names: Mapping[str, list[str]]) -> str:
    """Full dotted path of ``target`` as seen from ``obj`` (unchanged if it cannot be found).

    A bare name that is not in scope (imported inside a function, say) is looked up in
    ``names``, every object of the package by name, and used when it is unique.
    """
    if obj is None:
        return target.lstrip(".")
    if target.startswith("."):  # Sphinx's relative form: below the current module
        module = obj.module
        for base in (module, module.parent):
            if base is None:
                continue
            candidate = f"{base.path}{target}"
            try:
                base.modules_collection[candidate]
            except KeyError:
                continue
            return candidate
        return target.lstrip(".")
    head, _, rest = target.partition(".")
    try:
        resolved = obj.resolve(head)
    except (griffe.NameResolutionError, griffe.AliasResolutionError, AttributeError):
        found = names.get(target, [])
        return found[0] if not rest and len(found) == 1 else target
    return f"{resolved}.{rest}" if rest else resolved


def _link(match: re.Match[str], obj: griffe.Object | None,
          names: Mapping[str, list[str]]) -> str:
    body = match["body"].strip()
    explicit = EXPLICIT_TITLE.match(body)
    if explicit:
        title, target = explicit["title"], explicit["target"].strip()
    else:
        target = body
        title = None
    no_link = target.startswith("!")
    target = target.lstrip("!")
    short = target.startswith("~")
    target = target.lstrip("~")
    call = "()" if target.endswith("()") else ""
    target = target.removesuffix("()")
    if title is None:
        title = (target.rsplit(".", 1)[-1] if short else target.lstrip(".")) + call
    code = f"`{title}`"
    if no_link or match["role"] == "ref" or not re.fullmatch(r"[\w.]+", target):
        return code
    identifier = _resolve(obj, target, names)
    return f'<autoref identifier="{identifier}" optional>{code}</autoref>'


def _item_lines(lines: list[str]) -> set[int]:
    """Indices of the ``name : type`` lines of numpydoc's typed sections (Parameters, ...)."""
    items: set[int] = set()
    indent: int | None = None
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        underline = index + 1 < len(lines) and UNDERLINE.fullmatch(lines[index + 1])
        if underline:
            indent = depth if line.strip().lower() in TYPED_SECTIONS else None
        elif UNDERLINE.fullmatch(line):
            continue
        elif indent is not None and depth == indent:
            items.add(index)
        elif indent is not None and depth < indent:
            indent = None
    return items


def _plain(match: re.Match[str]) -> str:
    body = match["body"].strip()
    explicit = EXPLICIT_TITLE.match(body)
    if explicit:
        return explicit["title"]
    target = body.lstrip("!")
    return target.lstrip("~").rsplit(".", 1)[-1] if target.startswith("~") else target.lstrip(".")


def rewrite(text: str, obj: griffe.Object | None = None,
            names: Mapping[str, list[str]] | None = None) -> str:
    r"""Docstring ``text`` with its Sphinx roles as autorefs (see the module docstring).

    Examples
    --------
    >>> rewrite("See :func:`~lightsaber.losses.cox_ph_loss`.")
    'See <autoref identifier="lightsaber.losses.cox_ph_loss" optional>`cox_ph_loss`</autoref>.'
    >>> rewrite("with :math:`x^2`")
    'with `x^2`'
    >>> rewrite(":class:`the net <lightsaber.models.SurvivalNet>`, :meth:`!fit`")
    '<autoref identifier="lightsaber.models.SurvivalNet" optional>`the net`</autoref>, `fit`'
    >>> rewrite("Parameters\n----------\nf : callable, default :func:`~a.b.f`\n"
    ...         "    Like :func:`~a.b.g`.").splitlines()[2:]
    ['f : callable, default f', '    Like <autoref identifier="a.b.g" optional>`g`</autoref>.']
    """
    lines = text.split("\n")
    items = _item_lines(lines)
    # A type or default (``loss : str, default :func:`x```) is shown as escaped code, so a role
    # there becomes its plain name; griffe then links a type that is a bare name by itself.
    text = "\n".join(ROLE.sub(_plain, line) if index in items else
                     ROLE.sub(lambda match: _link(match, obj, names or {}), line)
                     for index, line in enumerate(lines))
    text = MATH_ROLE.sub(lambda match: f"`{match['body']}`", text)
    return MATH_DIRECTIVE.sub("", text)


def _walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if member.is_alias:
            continue  # documented where it is defined; the alias shares that docstring
        yield from _walk(member)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring of a loaded package (see the module)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the docstrings of ``pkg`` and everything defined in it."""
        objects = list(_walk(pkg))
        names: dict[str, list[str]] = {}
        for obj in objects:
            names.setdefault(obj.name, []).append(obj.path)
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, names)
