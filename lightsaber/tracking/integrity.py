"""SHA-256 digests of a logged model's files, recorded in its run and checked before loading.

The logged pipeline is a pickle: loading it runs whatever code it names. When ``ls.fit`` logs
the ``model/`` artifact it records the SHA-256 of every file of the folder in the run tag
``lightsaber.model_digests`` (:data:`lightsaber.tracking.tags.MODEL_DIGESTS`), and
:func:`lightsaber.tracking.model_registry.download_model` (behind
:func:`lightsaber.serving.load_pipeline`, ``lightsaber predict`` and ``predict_file``) checks the
downloaded folder against it before anything is unpickled: a changed, missing or added file
raises :class:`~lightsaber.exceptions.ModelIntegrityError`.

The tag is compact JSON, keys sorted, paths relative to the model folder in POSIX form::

    {"sha256":{"MLmodel":"<64 hex>","python_model.pkl":"<64 hex>",...}}

This protects against tampering in the artifact store (a bucket, an NFS share) by someone who
cannot write the tracking database; whoever can write run tags can also rewrite the digests.
See ``docs/security.md``.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "MLmodel").write_text("flavors: {}")
>>> digests = model_digests(folder)
>>> list(digests), len(digests["MLmodel"])
(['MLmodel'], 64)
>>> verify_model(folder, digests, "run abc")
>>> _ = (folder / "extra.py").write_text("print('hi')")
>>> verify_model(folder, digests, "run abc")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lightsaber.exceptions.ModelIntegrityError: the model of run abc ... file 'extra.py' was added ...
>>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lightsaber.exceptions import ModelIntegrityError, TrackingError
from lightsaber.tracking import tags as tag_names

__all__ = ["ALGORITHM", "digests_tag", "model_digests", "parse_digests", "run_digests",
           "verify_model"]

#: The digest algorithm, also the key of the tag's JSON object.
ALGORITHM = "sha256"
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_digests(folder: str | Path) -> dict[str, str]:
    """SHA-256 (hex) of every file under ``folder``, keyed by its relative POSIX path, sorted.

    Parameters
    ----------
    folder : str or Path
        A saved model folder (the one holding ``MLmodel``).

    Returns
    -------
    dict
        ``{"MLmodel": "<hex>", "python_model.pkl": "<hex>", ...}``.
    """
    root = Path(folder)
    return {path.relative_to(root).as_posix(): _sha256(path)
            for path in sorted(root.rglob("*")) if path.is_file()}


def digests_tag(digests: dict[str, str]) -> str:
    """The tag value recording ``digests``: compact JSON, keys sorted.

    Raises
    ------
    TrackingError
        When the value would be longer than :data:`~lightsaber.tracking.tags.MAX_TAG`
        characters (a model folder of about fifty files or more): the digests are never cut,
        since a model whose files are not all recorded could not be verified.
    """
    value = json.dumps({ALGORITHM: dict(sorted(digests.items()))}, separators=(",", ":"),
                       sort_keys=True)
    if len(value) > tag_names.MAX_TAG:
        raise TrackingError(
            f"the model folder holds {len(digests)} files; their sha256 digests take "
            f"{len(value)} characters, more than the {tag_names.MAX_TAG} a tag "
            f"({tag_names.MODEL_DIGESTS}) may hold. The digests are never truncated; log fewer "
            "files in the model folder (e.g. no code_paths or artifacts beside the pipeline).")
    return value


def parse_digests(value: str, source: str) -> dict[str, str]:
    """The digests recorded in a ``lightsaber.model_digests`` tag value.

    Raises
    ------
    ModelIntegrityError
        When the value is not what :func:`digests_tag` writes (the tag was altered).
    """
    try:
        found: Any = json.loads(value)[ALGORITHM]
    except (ValueError, TypeError, KeyError) as err:
        raise ModelIntegrityError(
            f"the {tag_names.MODEL_DIGESTS} tag of {source} is not a digest record; the model "
            "was not loaded.") from err
    if not (isinstance(found, dict) and all(
            isinstance(k, str) and isinstance(v, str) and len(v) == 64
            for k, v in found.items())):
        raise ModelIntegrityError(
            f"the {tag_names.MODEL_DIGESTS} tag of {source} is not a digest record; the model "
            "was not loaded.")
    return found


def run_digests(client: Any, run_id: str) -> dict[str, str] | None:
    """The digests a run recorded for its ``model/`` artifact.

    ``None`` when it recorded none (a run logged before digests were recorded).
    """
    value = client.get_run(run_id).data.tags.get(tag_names.MODEL_DIGESTS)
    return None if value is None else parse_digests(value, f"run {run_id}")


def verify_model(folder: str | Path, expected: dict[str, str], source: str) -> None:
    """Check that ``folder`` holds exactly the files of ``expected``, byte for byte.

    Parameters
    ----------
    folder : str or Path
        The downloaded model folder. Nothing in it is opened except to hash its bytes.
    expected : dict
        Relative path -> sha256 hex, as recorded (:func:`run_digests`).
    source : str
        What the model is, for the message (``"run <id>"``, ``"models:/name/1 (run <id>)"``).

    Raises
    ------
    ModelIntegrityError
        Naming the first (in path order) changed, missing or added file and how many differ;
        never a file's content.
    """
    found = model_digests(folder)
    problems = sorted(
        [(path, "was changed") for path in expected.keys() & found.keys()
         if expected[path] != found[path]]
        + [(path, "is missing") for path in expected.keys() - found.keys()]
        + [(path, "was added") for path in found.keys() - expected.keys()])
    if problems:
        path, what = problems[0]
        raise ModelIntegrityError(
            f"the model of {source} was changed after it was logged: file {path!r} {what} "
            f"({len(problems)} file(s) differ from the {ALGORITHM} digests recorded in the run "
            f"tag {tag_names.MODEL_DIGESTS}). It was not loaded: a changed model file can run "
            "arbitrary code when unpickled. Re-log the model from a trusted copy, or find out "
            "who wrote to the artifact store.")
