"""Peer implementations of the "tandem network" benchmark model.

Each peer module (``ciw_peer``, ``simpy_process``, ``simpy_callback``,
``heapq_loop``) exposes the same entry point::

    run(servers: Sequence[int], n_patients: int, seed: int) -> PeerResult

The model: ``K = len(servers)`` nodes in series, Poisson arrivals at rate
``ARRIVAL_RATE`` (1.0 per minute) at node 0, exponential service, node ``i``
has ``servers[i]`` servers with mean service time
``UTILISATION * servers[i] / ARRIVAL_RATE`` minutes (so every node runs at
utilisation 0.7), FIFO, unlimited queues.  A run stops when ``n_patients``
patients have left the last node; the result is the mean time in system
(arrival at node 0 to departure from the last node) of those patients.

This module also provides :func:`exact_tandem_sojourn`, the exact
steady-state mean time in system of the network (Jackson's theorem), which
the peers are checked against.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

__all__ = [
    "ARRIVAL_RATE",
    "BLOCK",
    "DEFAULT_N_PATIENTS",
    "DEFAULT_SERVERS",
    "PEERS",
    "UTILISATION",
    "PeerResult",
    "erlang_c",
    "exact_tandem_sojourn",
    "exponential_stream",
    "mean_service_times",
    "validate_args",
]

#: Default number of servers at each of the K = 7 nodes.
DEFAULT_SERVERS: tuple[int, ...] = (2, 3, 1, 4, 6, 2, 1)
#: Default number of patients that must complete the last node.
DEFAULT_N_PATIENTS: int = 20_000
#: External arrival rate at node 0 (patients per minute).
ARRIVAL_RATE: float = 1.0
#: Utilisation of every node.
UTILISATION: float = 0.7
#: Names of the peer modules in this package, in presentation order.
PEERS: tuple[str, ...] = ("ciw_peer", "simpy_process", "simpy_callback", "heapq_loop")
#: Number of random variates drawn per numpy call by :func:`exponential_stream`.
BLOCK: int = 4096


@dataclass(frozen=True)
class PeerResult:
    """Outcome of one peer run.

    Attributes
    ----------
    completed : int
        Number of patients that departed from the last node.
    mean_time_in_system : float
        Mean time (minutes) from arrival at node 0 to departure from the
        last node, over the completed patients.
    visits : int
        Number of completed node visits (service completions at any node,
        including those of patients still in the network at the end).
    """

    completed: int
    mean_time_in_system: float
    visits: int


def validate_args(servers: Sequence[int], n_patients: int) -> None:
    """Check the arguments shared by every peer's ``run``.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node; must be non-empty, all >= 1.
    n_patients : int
        Number of patients to complete; must be >= 1.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    if len(servers) == 0:
        raise ValueError("need at least one node")
    if any(int(c) != c or c < 1 for c in servers):
        raise ValueError(f"server counts must be positive integers, got {list(servers)}")
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")


def mean_service_times(
    servers: Sequence[int],
    arrival_rate: float = ARRIVAL_RATE,
    utilisation: float = UTILISATION,
) -> list[float]:
    """Mean service time of each node.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node.
    arrival_rate : float, optional
        External arrival rate at node 0.
    utilisation : float, optional
        Target utilisation of every node.

    Returns
    -------
    list of float
        ``utilisation * c / arrival_rate`` for each node's ``c``.
    """
    return [utilisation * c / arrival_rate for c in servers]


def exponential_stream(seed: int, block: int = BLOCK) -> Iterator[float]:
    """Endless stream of unit-mean exponential variates drawn in numpy blocks.

    Variates are generated ``block`` at a time with
    :meth:`numpy.random.Generator.standard_exponential`, converted to a list
    of Python floats and yielded one by one, so the per-draw cost is a single
    C-level ``next()`` call.  Scale by the mean to get other exponentials.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.
    block : int, optional
        Number of variates generated per numpy call.

    Returns
    -------
    Iterator[float]
        Infinite iterator of Python floats.
    """
    rng = np.random.default_rng(seed)
    return chain.from_iterable(iter(lambda: rng.standard_exponential(block).tolist(), None))


def erlang_c(c: int, offered_load: float) -> float:
    """Probability that an arrival must wait in an M/M/c queue (Erlang C).

    Uses the numerically stable Erlang B recursion
    ``B(k) = a B(k-1) / (k + a B(k-1))`` so no factorials or large powers are
    formed; it is accurate for hundreds of servers.

    Parameters
    ----------
    c : int
        Number of servers (>= 1).
    offered_load : float
        Offered load ``a = lambda / mu`` in Erlangs; must satisfy ``a < c``.

    Returns
    -------
    float
        Erlang C probability of waiting.

    Raises
    ------
    ValueError
        If ``c < 1`` or the queue is not stable (``a >= c``).
    """
    if c < 1:
        raise ValueError(f"need at least one server, got c={c}")
    a = float(offered_load)
    if not 0.0 <= a < c:
        raise ValueError(f"unstable or invalid queue: offered load {a} with {c} servers")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def exact_tandem_sojourn(
    servers: Sequence[int],
    arrival_rate: float = ARRIVAL_RATE,
    utilisation: float = UTILISATION,
) -> float:
    """Exact steady-state mean time in system of the tandem network.

    By Jackson's theorem each node behaves as an independent M/M/c queue
    with arrival rate ``arrival_rate``, so the mean time in system is the sum
    over nodes of the M/M/c mean sojourn time
    ``C(c, a) / (c mu - lambda) + 1 / mu``.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node.
    arrival_rate : float, optional
        External arrival rate at node 0.
    utilisation : float, optional
        Utilisation of every node; node ``i`` has mean service time
        ``utilisation * servers[i] / arrival_rate``.

    Returns
    -------
    float
        Mean time in system (same time unit as ``1 / arrival_rate``).

    Examples
    --------
    >>> round(exact_tandem_sojourn(DEFAULT_SERVERS), 2)
    22.19
    """
    total = 0.0
    for c, mean_service in zip(servers, mean_service_times(servers, arrival_rate, utilisation)):
        mu = 1.0 / mean_service
        wait = erlang_c(c, arrival_rate / mu) / (c * mu - arrival_rate)
        total += wait + mean_service
    return total
