"""Checkpoints: every finished replication stored as it completes, so runs resume.

A checkpoint is a folder with a ``manifest.json`` (what the run is: a fingerprint
of the model and settings, the seed, the records mode, the journeysim version)
and one ``rep-NNNNNN.npz`` per finished replication holding its statistics and,
in full mode, its record tables, plus ``meta/run`` (a digest of the manifest: the
run it belongs to) and ``meta/replication`` (its index). Loading uses
``numpy.load(allow_pickle=False)``: a checkpoint is data, never code.

What a run does with what it finds:

* every file is written to a temporary name and renamed, after its data reached
  the disk, so a run stopped at any moment (Ctrl-C, a kill, a lost worker) leaves
  only complete files;
* a replication file of this run stored under another index (a file copied over
  another), or one that cannot be read in full (truncated, damaged, arrays
  missing), is recomputed and rewritten;
* a replication file written by another run (another scenario, seed, records
  mode or version) is refused with a :class:`CheckpointError` before anything
  runs: the folder mixes runs, and which of its files are right cannot be known;
* replication files without a manifest are used only if every one of them says
  it belongs to this run (the manifest is then written again); otherwise the
  folder is refused;
* a manifest that is not a journeysim manifest, or that belongs to another run,
  is refused.

Examples
--------
>>> import tempfile
>>> from journeysim.model.distributions import Exponential
>>> from journeysim.model.elements import Microsystem, PatientClass
>>> from journeysim.model.mesosystem import Model
>>> model = Model([Microsystem("A", capacity=1, service=Exponential(1))],
...               classes=[PatientClass("p", entry="A", rate=0.5)])
>>> store = CheckpointStore(tempfile.mkdtemp(), fingerprint(model, 100.0, 0.0), seed=1, records="full")
>>> store.finished()
{}
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..engine.aggregate import ReplicationStats
from ..engine.plan import Plan
from ..engine.records import Records
from ..errors import JourneySimError
from ..model.mesosystem import Model
from .files import write_atomic

__all__ = ["CheckpointError", "CheckpointStore", "fingerprint"]

_FORMAT = 2
_REP_NAME = re.compile(r"rep-(\d{6,})\.npz")
# what a damaged or foreign replication file can raise when read
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile, EOFError)


class CheckpointError(JourneySimError):
    """A checkpoint folder cannot be used for this run."""


def fingerprint(model: Model, horizon: float, warmup: float, end: str = "drain") -> str:
    """A digest of the model and settings that determine a replication's numbers.

    The seed, the records mode and the version are stored and checked on their
    own, so that a refusal can say which of them differs.
    """
    text = f"{model!r}|{horizon!r}|{warmup!r}" + ("" if end == "drain" else f"|{end}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CheckpointStore:
    """A checkpoint folder for one run.

    Parameters
    ----------
    folder : str or Path
        Created if missing. If it holds a manifest, it must be for the same
        fingerprint, seed, records mode and journeysim version; its replication
        files must not come from another run (see the module's notes).
    fingerprint : str
        :func:`fingerprint` of the run.
    seed : int
        Root seed entropy of the run.
    records : {"full", "summary"}

    Raises
    ------
    CheckpointError
        When the folder belongs to a different run, mixes runs, has an
        unreadable manifest, or is a file or cannot be written in.
    """

    def __init__(self, folder: str | Path, fingerprint: str, *, seed: int, records: str) -> None:
        self.folder = Path(folder)
        self.records = records
        if self.folder.exists() and not self.folder.is_dir():
            raise CheckpointError(f"checkpoint {self.folder}: it is a file, not a folder; give a folder "
                                  "(it is made if missing)")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CheckpointError(f"checkpoint {self.folder}: cannot make the folder ({err.strerror or err})") from None
        manifest = {"format": _FORMAT, "fingerprint": fingerprint, "seed": seed, "records": records,
                    "journeysim_version": __version__}
        #: the digest every replication file of this run carries
        self.run = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8")).hexdigest()
        path = self.folder / "manifest.json"
        if path.exists():
            self._check_manifest(path, manifest)
            self._refuse_foreign(strict=False)
        else:
            self._refuse_foreign(strict=True)
            self._write(path, lambda fh: fh.write(json.dumps(manifest, indent=2).encode("utf-8")))

    def _check_manifest(self, path: Path, manifest: dict[str, Any]) -> None:
        """Refuse a manifest that cannot be read or that belongs to another run."""
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            found, why = None, str(err)
        else:
            why = "not a JSON object"
        if not isinstance(found, dict):
            raise CheckpointError(
                f"{path}: not a journeysim checkpoint manifest ({why}). Delete it to let journeysim check "
                "the replication files against this run, or use another folder."
            )
        problems = []
        if found.get("format") != _FORMAT:
            problems.append(f"format {found.get('format')!r} (expected {_FORMAT})")
        if found.get("fingerprint") != manifest["fingerprint"]:
            problems.append("a different scenario (model, horizon or warm-up)")
        if found.get("seed") != manifest["seed"]:
            problems.append(f"seed {found.get('seed')} (this run: {manifest['seed']})")
        if found.get("records") != manifest["records"]:
            problems.append(f"records={found.get('records')!r} (this run: {manifest['records']!r})")
        if found.get("journeysim_version") != __version__:
            problems.append(f"journeysim {found.get('journeysim_version')} (this is {__version__})")
        if problems:
            raise CheckpointError(
                f"checkpoint {self.folder} belongs to another run: it was written for "
                + "; ".join(problems) + ". Use another folder, or delete this one to start afresh."
            )

    def _refuse_foreign(self, *, strict: bool) -> None:
        """Refuse replication files of another run (``strict``: also those that do not say which run)."""
        foreign = []
        for path in self.finished().values():
            identity = _identity(path)
            if identity is None and not strict:
                continue  # damaged: recomputed when its turn comes
            if identity is None or identity[0] != self.run:
                foreign.append(path.name)
        if not foreign:
            return
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        if strict:
            raise CheckpointError(
                f"checkpoint {self.folder} has replication files but no manifest.json, and {foreign[0]}{more} "
                "cannot be shown to belong to this run. Use another folder, or delete the rep-*.npz files in "
                "this one to start afresh."
            )
        raise CheckpointError(
            f"checkpoint {self.folder} mixes runs: {foreign[0]}{more} was written by another run (another "
            "scenario, seed, records mode or version). Use another folder, or delete this one to start afresh."
        )

    def _path(self, replication: int) -> Path:
        return self.folder / f"rep-{replication:06d}.npz"

    def _write(self, path: Path, write: Any) -> None:
        try:
            write_atomic(path, write, durable=True)
        except OSError as err:
            raise CheckpointError(
                f"checkpoint {self.folder}: cannot write {path.name} ({err.strerror or err})") from None

    def finished(self) -> dict[int, Path]:
        """Replication index -> file, for every replication file in the folder (sorted)."""
        out = {}
        for path in self.folder.glob("rep-*.npz"):
            match = _REP_NAME.fullmatch(path.name)
            if match is not None:
                out[int(match.group(1))] = path
        return dict(sorted(out.items()))

    def save(self, records: Records | None, stats: ReplicationStats) -> None:
        """Store one finished replication (atomically), stamped with this run and its index."""
        arrays = {"meta/run": np.array(self.run), "meta/replication": np.array(stats.replication, dtype=np.int64)}
        arrays.update({f"stats/{k}": v for k, v in stats.to_arrays().items()})
        if records is not None:
            for name, table in records.tables().items():
                for col, values in table.columns.items():
                    arrays[f"records/{name}/{col}"] = values
        self._write(self._path(stats.replication), lambda fh: np.savez(fh, allow_pickle=False, **arrays))

    def load(self, replication: int, plan: Plan) -> tuple[Records | None, ReplicationStats] | None:
        """Read one replication back; ``None`` if its file is not a complete replication ``replication`` of this run.

        It is then recomputed (and its file rewritten).
        """
        try:
            with np.load(self._path(replication), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            if _identity_of(arrays) != (self.run, replication):
                return None
            stats = ReplicationStats.from_arrays({k[6:]: v for k, v in arrays.items() if k.startswith("stats/")})
            tables: dict[str, dict[str, np.ndarray]] = {}
            for key, values in arrays.items():
                if key.startswith("records/"):
                    _, name, col = key.split("/", 2)
                    tables.setdefault(name, {})[col] = values
            if stats.replication != replication or bool(tables) != (self.records == "full"):
                return None
            if not tables:
                return None, stats
            return Records.from_columns(replication, stats.horizon, stats.warmup, tables, plan.labels(),
                                        end="stop" if stats.stopped else "drain"), stats
        except _UNREADABLE:
            return None


def _identity_of(arrays: Any) -> tuple[str, int] | None:
    """(run digest, replication index) stamped in a replication file's arrays, or None."""
    run, rep = arrays["meta/run"], arrays["meta/replication"]
    if run.shape != () or run.dtype.kind != "U" or rep.shape != () or rep.dtype.kind not in "iu":
        return None
    return str(run[()]), int(rep[()])


def _identity(path: Path) -> tuple[str, int] | None:
    """The stamp of a replication file, reading only it; None if the file cannot tell."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return _identity_of(data)
    except _UNREADABLE:
        return None
