"""Checkpoints: every finished replication stored as it completes, so runs resume.

A checkpoint is a folder with a ``manifest.json`` (what the run is: a fingerprint
of the model and settings, the seed, the records mode, the journeysim version)
and one ``rep-NNNNNN.npz`` per finished replication holding its statistics and,
in full mode, its record tables. Files are written to a temporary name and
renamed, so a run killed at any moment leaves only complete files behind. Loading
uses ``numpy.load(allow_pickle=False)``: a checkpoint is data, never code.

Examples
--------
>>> import tempfile
>>> from journeysim.distributions import Exponential
>>> from journeysim.elements import Microsystem, PatientClass
>>> from journeysim.model import Model
>>> model = Model([Microsystem("A", capacity=1, service=Exponential(1))],
...               classes=[PatientClass("p", entry="A", rate=0.5)])
>>> store = CheckpointStore(tempfile.mkdtemp(), fingerprint(model, 100.0, 0.0), seed=1, records="full")
>>> store.finished()
{}
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .aggregate import ReplicationStats
from .errors import JourneySimError
from .model import Model
from .plan import Plan
from .records import Records

__all__ = ["CheckpointError", "CheckpointStore", "fingerprint"]

_FORMAT = 1


class CheckpointError(JourneySimError):
    """A checkpoint folder cannot be used for this run."""


def fingerprint(model: Model, horizon: float, warmup: float) -> str:
    """A digest of the model and settings that determine a replication's numbers.

    The seed, the records mode and the version are stored and checked on their
    own, so that a refusal can say which of them differs.
    """
    text = f"{model!r}|{horizon!r}|{warmup!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CheckpointStore:
    """A checkpoint folder for one run.

    Parameters
    ----------
    folder : str or Path
        Created if missing. If it holds a manifest, it must be for the same
        fingerprint, seed, records mode and journeysim version.
    fingerprint : str
        :func:`fingerprint` of the run.
    seed : int
        Root seed entropy of the run.
    records : {"full", "summary"}

    Raises
    ------
    CheckpointError
        When the folder belongs to a different run.
    """

    def __init__(self, folder: str | Path, fingerprint: str, *, seed: int, records: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = {"format": _FORMAT, "fingerprint": fingerprint, "seed": seed, "records": records,
                    "journeysim_version": __version__}
        path = self.folder / "manifest.json"
        if path.exists():
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise CheckpointError(f"{path}: not a journeysim checkpoint manifest ({err})") from None
            problems = []
            if found.get("format") != _FORMAT:
                problems.append(f"format {found.get('format')!r} (expected {_FORMAT})")
            if found.get("fingerprint") != fingerprint:
                problems.append("a different scenario (model, horizon or warm-up)")
            if found.get("seed") != seed:
                problems.append(f"seed {found.get('seed')} (this run: {seed})")
            if found.get("records") != records:
                problems.append(f"records={found.get('records')!r} (this run: {records!r})")
            if found.get("journeysim_version") != __version__:
                problems.append(f"journeysim {found.get('journeysim_version')} (this is {__version__})")
            if problems:
                raise CheckpointError(
                    f"checkpoint {self.folder} belongs to another run: it was written for "
                    + "; ".join(problems) + ". Use another folder, or delete this one to start afresh."
                )
        else:
            _atomic_write(path, lambda fh: fh.write(json.dumps(manifest, indent=2).encode("utf-8")))

    def _path(self, replication: int) -> Path:
        return self.folder / f"rep-{replication:06d}.npz"

    def finished(self) -> dict[int, Path]:
        """Replication index -> file, for every complete replication file."""
        out = {}
        for path in self.folder.glob("rep-*.npz"):
            try:
                out[int(path.stem.split("-", 1)[1])] = path
            except ValueError:
                continue
        return dict(sorted(out.items()))

    def save(self, records: Records | None, stats: ReplicationStats) -> None:
        """Store one finished replication (atomically)."""
        arrays = {f"stats/{k}": v for k, v in stats.to_arrays().items()}
        if records is not None:
            for name, table in records.tables().items():
                for col, values in table.columns.items():
                    arrays[f"records/{name}/{col}"] = values
        _atomic_write(self._path(stats.replication), lambda fh: np.savez(fh, **arrays))

    def load(self, replication: int, plan: Plan) -> tuple[Records | None, ReplicationStats] | None:
        """Read one replication back; ``None`` if its file is unreadable (it is then recomputed)."""
        try:
            with np.load(self._path(replication), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            return None
        stats = ReplicationStats.from_arrays({k[6:]: v for k, v in arrays.items() if k.startswith("stats/")})
        tables: dict[str, dict[str, np.ndarray]] = {}
        for key, values in arrays.items():
            if key.startswith("records/"):
                _, name, col = key.split("/", 2)
                tables.setdefault(name, {})[col] = values
        if not tables:
            return None, stats
        return Records.from_columns(stats.replication, stats.horizon, stats.warmup, tables, plan.labels()), stats
