"""The example scenarios that ship with journeysim: find one, or copy them all to a folder.

The scenario files live inside the package (``journeysim/scenarios/*.toml``, package data
found with :mod:`importlib.resources`), so an installed wheel has them; in a clone of the
repository, ``scenarios/`` is a link to the same folder. Files that ``extends`` another
(``ami_handoff_redesign.toml`` extends ``ami.toml``) name it relative to themselves, so they
load from the installed folder and from a copy alike.

>>> import journeysim as js
>>> "ami" in js.examples.names()
True
>>> scenario = js.load_scenario(js.examples.path("ami_handoff_redesign"))   # extends ami.toml
>>> scenario.name
'AMI pathway: structured handovers'

This module reads files only; it imports nothing from journeysim but the errors.
"""

from __future__ import annotations

import difflib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from .errors import JourneySimError, Problem, ValidationError

__all__ = ["names", "path", "copy"]

_SUFFIX = ".toml"


def _folder() -> Traversable:
    """The package folder that holds the example scenarios."""
    return files("journeysim").joinpath("scenarios")


def _files() -> dict[str, Traversable]:
    """Each example's name (the file name without ``.toml``) -> its file, sorted by name."""
    try:
        entries = list(_folder().iterdir())
    except OSError as err:
        raise JourneySimError(f"this installation of journeysim has no example scenarios ({err}); reinstall "
                              "it from a wheel or a clone of the repository") from None
    found = {f.name[: -len(_SUFFIX)]: f for f in entries if f.is_file() and f.name.endswith(_SUFFIX)}
    return dict(sorted(found.items()))


def names() -> list[str]:
    """The names of the example scenarios, sorted: what :func:`path` accepts.

    Returns
    -------
    list of str
        File names without ``.toml``, e.g. ``"ami"`` for the flagship acute myocardial
        infarction pathway.

    Examples
    --------
    >>> import journeysim as js
    >>> js.examples.names()[:3]
    ['ami', 'ami_cath_boarding', 'ami_handoff_redesign']
    """
    return list(_files())


def _unknown(name: str, known: list[str]) -> ValidationError:
    """The error for an example that does not exist, with the closest name and the full list."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ValidationError([Problem("", f"no example scenario named {name!r}{hint}; the examples are: "
                                        + ", ".join(known))])


def path(name: str) -> Path:
    """The file of the example scenario ``name``, where journeysim is installed.

    Parameters
    ----------
    name : str
        One of :func:`names`, with or without ``.toml``.

    Returns
    -------
    pathlib.Path
        The scenario file, ready for :func:`journeysim.load_scenario` or ``journeysim run``.
        Do not edit it (it belongs to the installation): copy the examples with
        :func:`copy` or ``journeysim examples DIR`` to make your own.

    Raises
    ------
    ValidationError
        If there is no example of that name; the message lists the names.
    JourneySimError
        If journeysim is installed where its files are not on disk (a zip archive); use
        :func:`copy` instead.

    Examples
    --------
    >>> import journeysim as js
    >>> js.examples.path("ami").name
    'ami.toml'
    >>> js.examples.path("ami.toml") == js.examples.path("ami")
    True
    >>> js.examples.path("amy")
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: no example scenario named 'amy' (did you mean 'ami'?); the examples are: ami, ...
    """
    found = _files()
    key = name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else name
    if key not in found:
        raise _unknown(name, list(found))
    resource = found[key]
    if not isinstance(resource, Path):
        raise JourneySimError(f"the example scenarios are inside {_folder()}, not a folder on disk; copy them "
                              "with journeysim.examples.copy(folder) or `journeysim examples DIR`")
    return resource


def copy(folder: str | Path, *, force: bool = False) -> list[Path]:
    """Copy every example scenario into ``folder`` (made if missing), to run and edit.

    Parameters
    ----------
    folder : str or path-like
        Where to put the files; created with its parents if it does not exist.
    force : bool, default False
        Overwrite files of the same name. Without it, nothing is copied if any would be
        overwritten, and the error names every such file.

    Returns
    -------
    list of pathlib.Path
        The files written, sorted by name.

    Raises
    ------
    ValidationError
        If ``folder`` is a file, or (without ``force``) some of the files exist already.
        Nothing is written then.

    Examples
    --------
    >>> import tempfile, journeysim as js
    >>> folder = tempfile.mkdtemp()
    >>> [p.name for p in js.examples.copy(folder)][:2]
    ['ami.toml', 'ami_cath_boarding.toml']
    >>> js.load_scenario(Path(folder) / "ami_handoff_redesign.toml").name   # extends ami.toml beside it
    'AMI pathway: structured handovers'
    >>> js.examples.copy(folder)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: .../ami.toml: exists already; --force (force=True in Python) overwrites it
    ...
    >>> len(js.examples.copy(folder, force=True)) == len(js.examples.names())
    True
    """
    target = Path(folder)
    sources = _files()
    if target.exists() and not target.is_dir():
        raise ValidationError([Problem("", "is not a folder: give a folder to copy the example scenarios into",
                                       str(target))])
    if not force:
        clashes = [target / f"{n}{_SUFFIX}" for n in sources if (target / f"{n}{_SUFFIX}").exists()]
        if clashes:
            raise ValidationError([Problem("", "exists already; --force (force=True in Python) overwrites it", str(p))
                                   for p in clashes])
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValidationError([Problem("", f"cannot make the folder: {err.strerror or err}", str(target))]) from None
    written: list[Path] = []
    new: list[Path] = []
    for name, source in sources.items():
        out = target / f"{name}{_SUFFIX}"
        existed = out.exists()
        try:
            out.write_bytes(source.read_bytes())
        except OSError as err:
            for p in new:  # leave no half-made copy behind (files that were overwritten stay overwritten)
                p.unlink(missing_ok=True)
            raise ValidationError([Problem("", f"cannot write: {err.strerror or err}", str(out))]) from None
        written.append(out)
        if not existed:
            new.append(out)
    return written
