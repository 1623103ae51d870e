"""Named random-number streams derived from one root seed.

Every source of randomness in a run (arrivals of a class, service at a node,
defects at a handoff, ...) draws from its own :class:`numpy.random.Generator`.
The generator of a stream is derived from the root seed, the replication index
and the stream's *name* only, so:

* adding a node or a handoff does not reshuffle the numbers of any other stream;
* replication ``i`` of two scenarios uses the same numbers wherever they do not
  differ (common random numbers);
* the numbers do not depend on which worker runs a replication.

Examples
--------
>>> a = StreamFactory(2026, replication=0).generator("service/ED")
>>> b = StreamFactory(2026, replication=0).generator("service/ED")
>>> float(a.random()) == float(b.random())
True
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

import numpy as np

__all__ = ["SeedLike", "root_seed_sequence", "StreamFactory"]

SeedLike: TypeAlias = "int | np.random.SeedSequence | np.random.Generator | None"


def root_seed_sequence(seed: SeedLike = None) -> np.random.SeedSequence:
    """Normalise a user seed to a root :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        ``None`` draws fresh entropy from the operating system (record
        ``.entropy`` of the result to reproduce the run). A ``Generator`` is
        used only to draw the root entropy.

    Examples
    --------
    >>> root_seed_sequence(7).entropy
    7
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise TypeError(f"seed must be a non-negative int, SeedSequence, Generator or None, got {seed!r}")


def _name_key(name: str) -> tuple[int, int]:
    # A stable 64-bit digest of the name (Python's hash() is salted per process).
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value & 0xFFFFFFFF, value >> 32)


class StreamFactory:
    """Makes the generator of each named stream of one replication.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        Root seed of the experiment.
    replication : int
        Index of the replication; part of every stream's key.
    """

    __slots__ = ("root", "replication")

    def __init__(self, seed: SeedLike, replication: int = 0) -> None:
        self.root = root_seed_sequence(seed)
        self.replication = int(replication)

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence of stream ``name`` in this replication."""
        key = (*self.root.spawn_key, self.replication, *_name_key(name))
        return np.random.SeedSequence(self.root.entropy, spawn_key=key, pool_size=self.root.pool_size)

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for stream ``name`` (PCG64)."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
