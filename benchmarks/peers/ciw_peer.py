"""Ciw peer of the tandem network benchmark.

Written the way the Ciw documentation describes: a network built with
:func:`ciw.create_network` from :class:`ciw.dists.Exponential` arrival and
service distributions, a routing matrix that sends every patient from node
``i`` to node ``i + 1`` (and out of the system after the last node), a
:class:`ciw.Simulation`, and
:meth:`ciw.Simulation.simulate_until_max_customers` with
``method="Complete"`` so the run stops as soon as ``n_patients`` patients
have completed their journey (there is no baulking or reneging, so this is
the same as ``method="Finish"``).  Randomness comes from :func:`ciw.seed`,
which seeds Python's global :mod:`random` module (Ciw's documented API).
"""

from __future__ import annotations

from collections.abc import Sequence

import ciw

from . import ARRIVAL_RATE, PeerResult, mean_service_times, validate_args

__all__ = ["build_network", "run"]


def build_network(servers: Sequence[int]) -> ciw.network.Network:
    """Build the Ciw network for a tandem of ``len(servers)`` nodes.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node.

    Returns
    -------
    ciw.network.Network
        Network with Poisson arrivals at node 1 only, exponential service
        and tandem routing.
    """
    k = len(servers)
    arrivals: list[ciw.dists.Distribution | None] = [ciw.dists.Exponential(rate=ARRIVAL_RATE)]
    arrivals += [None] * (k - 1)
    services = [ciw.dists.Exponential(rate=1.0 / m) for m in mean_service_times(servers)]
    routing = [[1.0 if j == i + 1 else 0.0 for j in range(k)] for i in range(k)]
    return ciw.create_network(
        arrival_distributions=arrivals,
        service_distributions=services,
        routing=routing,
        number_of_servers=list(servers),
    )


def run(servers: Sequence[int], n_patients: int, seed: int) -> PeerResult:
    """Simulate the tandem network with Ciw until ``n_patients`` complete.

    Parameters
    ----------
    servers : Sequence[int]
        Number of servers at each node.
    n_patients : int
        Number of patients that must depart from the last node.
    seed : int
        Seed passed to :func:`ciw.seed`.

    Returns
    -------
    PeerResult
        Completed patients, their mean time in system and the number of
        completed node visits.

    Raises
    ------
    ValueError
        If ``servers`` is empty or invalid, or ``n_patients < 1``.
    """
    validate_args(servers, n_patients)
    network = build_network(servers)
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(n_patients, method="Complete")

    finished = sim.nodes[-1].all_individuals
    total = 0.0
    for individual in finished:
        records = individual.data_records
        total += records[-1].exit_date - records[0].arrival_date
    visits = len(sim.get_all_records(only=["service"]))
    return PeerResult(
        completed=len(finished),
        mean_time_in_system=total / len(finished),
        visits=visits,
    )
