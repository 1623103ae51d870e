"""Named random-number streams derived from one root seed.

Every source of randomness in a run (arrivals of a class, service at a node,
defects at a handoff, ...) draws from its own :class:`numpy.random.Generator`.
The generator of a stream is derived from the root seed, the replication index
and the stream's *name* only, so:

* adding a node or a handoff does not reshuffle the numbers of any other stream;
* replication ``i`` of two scenarios uses the same numbers wherever they do not
  differ (common random numbers);
* the numbers do not depend on which worker runs a replication.

The engine draws through :class:`Samplers`: numbers of each stream are drawn in
numpy blocks, so that a draw in the hot loop is one call of a list iterator, and
every user of a stream name shares the one sampler of that name (so the order of
draws within a stream is the order of the events that draw).

Examples
--------
>>> a = StreamFactory(2026, replication=0).generator("service/ED")
>>> b = StreamFactory(2026, replication=0).generator("service/ED")
>>> float(a.random()) == float(b.random())
True
>>> s = Samplers(StreamFactory(2026))
>>> s.uniform("route/ED") is s.uniform("route/ED")
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate, chain, repeat
from typing import NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

from ..model.distributions import Distribution, Fixed

__all__ = ["SeedLike", "root_seed_sequence", "StreamFactory", "Sampler", "Duration", "Stepwise", "Selective",
           "Samplers"]

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


#: a function returning the next number of a stream
Sampler = Callable[[], float]

_BLOCK = 512
_INF = float("inf")


class Duration(NamedTuple):
    """A duration: ``fixed`` when ``draw`` is None, else a draw (hot paths read the two fields inline)."""

    fixed: float
    draw: Sampler | None

    def sample(self) -> float:
        """The next duration."""
        return self.fixed if self.draw is None else self.draw()

    def sampler(self) -> Sampler:
        """A function returning each next duration (the stream's own sampler when it is random)."""
        return self.sample if self.draw is None else self.draw


def _blocks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    # chained list iterators: a draw is a call of C code only (a generator's ``yield from``
    # resumes a Python frame per number, about 30 ns more per draw on the hot path)
    return chain.from_iterable(map(_tolist, map(draw, repeat(_BLOCK))))


def _tolist(block: NDArray[np.float64]) -> list[float]:
    return block.tolist()


def _block(d: Distribution, g: np.random.Generator) -> NDArray[np.float64]:
    # a distribution returns an array when given a size; the protocol's type says float or array
    return np.asarray(d.sample(g, _BLOCK))


def _summed(dists: Sequence[Distribution], gens: Sequence[np.random.Generator]) -> Iterator[float]:
    def total(_: object) -> list[float]:
        t = _block(dists[0], gens[0])
        for d, g in zip(dists[1:], gens[1:]):
            t = t + _block(d, g)
        return t.tolist()

    # blocks are drawn lazily, one when the last is used up, as by a generator (see _blocks)
    return chain.from_iterable(map(total, repeat(None)))


class Stepwise:
    """Sampler of a visit's steps that also keeps the steps' end times (for milestones)."""

    __slots__ = ("it", "ends")

    def __init__(self, dists: Sequence[Distribution], gens: Sequence[np.random.Generator]) -> None:
        self.it = self._draw(dists, gens)
        self.ends: tuple[float, ...] = ()

    @staticmethod
    def _draw(dists: Sequence[Distribution], gens: Sequence[np.random.Generator]) -> Iterator[tuple[float, ...]]:
        while True:
            # the same draws, summed in the same order, as the plain sampler of these steps
            cols = [_block(d, g) for d, g in zip(dists, gens)]
            yield from zip(*np.cumsum(np.vstack(cols), axis=0).tolist())

    def __call__(self) -> float:
        self.ends = ends = next(self.it)
        return ends[-1]


class Selective:
    """Sampler of a visit's steps when some steps are for some patients only (their ``when``).

    Every step is drawn for every visit, whoever has it, so each step's stream keeps its
    numbers across patients and scenarios (common random numbers); :meth:`select` then adds
    up the steps the patient has, in order, as the other samplers do: a patient who has
    every step gets the very duration the plain sampler would give.

    Examples
    --------
    >>> s = Selective([Fixed(5.0), Fixed(7.0), Fixed(11.0)], [np.random.default_rng(0)] * 3)
    >>> s()                          # draws every step (the visit's length if it had them all)
    23.0
    >>> s.select([True, False, True]), s.ends
    (16.0, (5.0, inf, 16.0))
    """

    __slots__ = ("it", "draws", "ends")

    def __init__(self, dists: Sequence[Distribution], gens: Sequence[np.random.Generator]) -> None:
        self.it = self._draw(dists, gens)
        #: the last visit's draw of each step
        self.draws: tuple[float, ...] = ()
        #: each step's end in the last selection, from the start of the work; inf for a step skipped
        self.ends: tuple[float, ...] = ()

    @staticmethod
    def _draw(dists: Sequence[Distribution], gens: Sequence[np.random.Generator]) -> Iterator[tuple[float, ...]]:
        while True:
            yield from zip(*[_block(d, g).tolist() for d, g in zip(dists, gens)])

    def __call__(self) -> float:
        self.draws = draws = next(self.it)
        return sum(draws)

    def select(self, chosen: Sequence[bool]) -> float:
        """The length of the last visit drawn, counting the ``chosen`` steps only; sets :attr:`ends`."""
        total = 0.0
        ends = []
        for x, on in zip(self.draws, chosen):
            if on:
                total += x
                ends.append(total)
            else:
                ends.append(_INF)
        self.ends = tuple(ends)
        return total


class Samplers:
    """Block samplers of the named streams of one replication, made on first use and shared by name."""

    __slots__ = ("factory", "_uniform", "_durations", "_stepwise", "_selective")

    def __init__(self, factory: StreamFactory) -> None:
        self.factory = factory
        self._uniform: dict[str, Sampler] = {}
        self._durations: dict[str, Sampler] = {}
        self._stepwise: dict[str, Stepwise] = {}
        self._selective: dict[str, Selective] = {}

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator of stream ``name`` (for draws that are not in blocks)."""
        return self.factory.generator(name)

    def uniform(self, name: str) -> Sampler:
        """Sampler of U(0, 1) numbers of stream ``name``."""
        if name not in self._uniform:
            self._uniform[name] = _blocks(self.factory.generator(name).random).__next__
        return self._uniform[name]

    def duration(self, name: str, steps: Iterable[tuple[str, Distribution]]) -> Duration:
        """A duration made of steps (each step's stream is ``"{name}/{step}"``); fixed when every step is.

        Classes that share a stream name share its sampler.
        """
        steps = tuple(steps)
        if all(isinstance(d, Fixed) for _, d in steps):
            return Duration(float(sum(d.mean for _, d in steps)), None)
        if name not in self._durations:
            gens = [self.factory.generator(f"{name}/{s}") for s, _ in steps]
            self._durations[name] = _summed([d for _, d in steps], gens).__next__
        return Duration(0.0, self._durations[name])

    def values(self, name: str, distribution: Distribution) -> Sampler:
        """Sampler of draws of ``distribution`` from stream ``name`` itself (a patient's numeric attribute)."""
        if name not in self._durations:
            gen = self.factory.generator(name)
            self._durations[name] = _blocks(lambda n: np.asarray(distribution.sample(gen, n), dtype=float)).__next__
        return self._durations[name]

    def timed(self, name: str, part: str, distribution: Distribution) -> Duration:
        """A duration of one step ``part`` drawn from stream ``"{name}/{part}"``."""
        return self.duration(name, ((part, distribution),))

    def stepwise(self, name: str, steps: Iterable[tuple[str, Distribution]]) -> Stepwise | tuple[float, ...]:
        """Sampler of steps that keeps each step's end; the fixed ends when every step is fixed.

        Classes that share the steps' streams share the sampler.
        """
        steps = tuple(steps)
        if all(isinstance(d, Fixed) for _, d in steps):
            return tuple(accumulate(d.mean for _, d in steps))
        if name not in self._stepwise:
            gens = [self.factory.generator(f"{name}/{s}") for s, _ in steps]
            self._stepwise[name] = Stepwise([d for _, d in steps], gens)
        return self._stepwise[name]

    def selective(self, name: str, steps: Iterable[tuple[str, Distribution]]) -> Selective:
        """Sampler of steps of which each patient has some (:class:`Selective`), fixed steps included.

        Classes that share the steps' streams share the sampler.
        """
        if name not in self._selective:
            steps = tuple(steps)
            gens = [self.factory.generator(f"{name}/{s}") for s, _ in steps]
            self._selective[name] = Selective([d for _, d in steps], gens)
        return self._selective[name]
