"""Exact results from queueing theory, written independently of journeysim."""

from __future__ import annotations


def erlang_c(c: int, offered: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``offered`` = lambda/mu."""
    b = 1.0  # Erlang B by its stable recursion
    for k in range(1, c + 1):
        b = offered * b / (k + offered * b)
    rho = offered / c
    return b / (1.0 - rho + rho * b)


def mmc_wait(rate: float, mean_service: float, c: int) -> float:
    """Mean wait in queue of an M/M/c queue (minutes)."""
    mu = 1.0 / mean_service
    return erlang_c(c, rate / mu) / (c * mu - rate)


def mmc_sojourn(rate: float, mean_service: float, c: int) -> float:
    """Mean time in an M/M/c system: wait plus service."""
    return mmc_wait(rate, mean_service, c) + mean_service


def mm1_wait(rate: float, mean_service: float) -> float:
    """Mean wait in queue of M/M/1: rho / (mu - lambda)."""
    mu = 1.0 / mean_service
    rho = rate / mu
    return rho / (mu - rate)
