"""Quick comparison table of the tandem network peers.

Run from the ``benchmarks`` directory::

    python -m peers [--n-patients N] [--repeats R] [--seed S] [--servers 2 3 1 ...]

For each peer it reports the median wall time over ``R`` runs, the
throughput in completed patients per second, and the mean time in system
against the exact Jackson-network value.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Sequence

from . import DEFAULT_N_PATIENTS, DEFAULT_SERVERS, PEERS, exact_tandem_sojourn


def main(argv: Sequence[str] | None = None) -> None:
    """Run every peer and print a comparison table.

    Parameters
    ----------
    argv : Sequence[str] or None, optional
        Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m peers", description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=DEFAULT_N_PATIENTS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--servers", type=int, nargs="+", default=list(DEFAULT_SERVERS))
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    args = parser.parse_args(argv)

    exact = exact_tandem_sojourn(args.servers)
    print(f"servers={args.servers} n_patients={args.n_patients} repeats={args.repeats} "
          f"exact mean time in system={exact:.4f}")
    header = (
        f"{'peer':<16}{'median s':>10}{'patients/s':>13}{'completed':>11}"
        f"{'visits':>10}{'mean TIS':>10}{'rel err':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in args.peers:
        module = importlib.import_module(f"{__package__}.{name}")
        times = []
        for r in range(args.repeats):
            start = time.perf_counter()
            result = module.run(args.servers, args.n_patients, args.seed + r)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        rel = result.mean_time_in_system / exact - 1.0
        print(f"{name:<16}{median:>10.3f}{result.completed / median:>13,.0f}{result.completed:>11}"
              f"{result.visits:>10}{result.mean_time_in_system:>10.3f}{rel:>+9.2%}")


if __name__ == "__main__":
    main()
