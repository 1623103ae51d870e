"""Patient frailty: defects that cluster in the same journeys.

The product formula of system quality assumes that a journey's defects are
independent. Published data show that they cluster in the same patients, so
the product of item-level rates comes out below the observed all-or-none rate.
A :class:`Frailty` relaxes the assumption with one patient-level risk factor.

Each patient draws a frailty ``Z = 2F`` with ``F ~ Beta(a, a)``, so that
``E[Z] = 1`` and ``Var(Z) = 1 / (2a + 1) = rho``, the *correlation*. At every
element (a visit's named defect, a handoff kind, a request kind, a support
visit's defect) the patient's own probability of a defect whose probability is
``p`` in the model is::

    p(Z) = p + min(p, 1 - p) * (Z - 1)

which stays in ``[0, 1]``, rises with ``Z``, and has mean ``p``: every item
rate is unchanged, only their joint distribution is. Given ``Z``, defects are
independent. Two defects of probabilities ``p_i, p_j`` then have covariance
``min(p_i, 1-p_i) min(p_j, 1-p_j) rho``; for ``p = 1/2`` their correlation is
``rho`` itself (the intra-class correlation of the beta-binomial), and ``rho = 0``
means independence. Because the share of defect-free journeys is ``E[prod (1 -
p_i(Z))]`` and each factor falls with ``Z``, it is at least the product of the
factors' means (Harris' inequality): clustering can only raise system quality
above the independent product.

The exact value is a one-dimensional integral over ``Z``, computed with
Gauss-Jacobi quadrature, which is exact for a straight pathway (a polynomial in
``Z`` of degree at most the number of defect opportunities, below ``2 *``
:data:`NODES`) and accurate to round-off on graphs with loops.

Examples
--------
>>> f = Frailty(correlation=0.2)
>>> f.alpha
2.0
>>> round(f.probability(0.1, 1.5), 6), round(f.probability(0.8, 1.5), 6)
(0.15, 0.9)
>>> round(f.defect_free([0.2] * 4), 6)   # above the product 0.8**4 = 0.4096
0.440457
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import NDArray

from ._problems import Collector, is_number

__all__ = ["Frailty", "NODES"]

#: Quadrature nodes used by :meth:`Frailty.expect`.
NODES = 48


@dataclass(frozen=True, slots=True)
class Frailty:
    """A patient-level risk factor that scales every defect probability of the patient.

    Parameters
    ----------
    correlation : float
        ``rho = Var(Z)`` in ``[0, 1)``, the correlation of two defects of
        probability 1/2 (see the module docstring); 0 means independent defects.
    reference : str
        Where the value comes from, shown in reports.

    Raises
    ------
    ValidationError
        When the correlation is not in ``[0, 1)``, or is so close to 0 or 1 that
        the quadrature of :meth:`expect` is not finite in floating point.

    Examples
    --------
    >>> Frailty(0.0).is_independent
    True
    >>> Frailty(1e-300)
    Traceback (most recent call last):
    ...
    journeysim.errors.ValidationError: correlation: 1e-300 is too close to 0 for the quadrature of the frailty
    (its nodes or weights are not finite numbers); give 0 for independent defects or at least 1e-06
    """

    correlation: float = 0.0
    reference: str = ""

    def __post_init__(self) -> None:
        c = Collector()
        if not is_number(self.correlation) or not 0.0 <= self.correlation < 1.0:
            c.add("correlation", f"must be a number in [0, 1), got {self.correlation!r}")
        if not isinstance(self.reference, str):
            c.add("reference", f"must be a string, got {self.reference!r}")
        c.raise_if_any()
        object.__setattr__(self, "correlation", float(self.correlation))
        if not self._quadrature_is_finite():
            near, advice = (("0", "give 0 for independent defects or at least 1e-06") if self.correlation < 0.5
                            else ("1", "give at most 0.999999"))
            c.add("correlation", f"{self.correlation!r} is too close to {near} for the quadrature of the frailty "
                  f"(its nodes or weights are not finite numbers); {advice}")
        c.raise_if_any()

    def _quadrature_is_finite(self) -> bool:
        """Whether :meth:`nodes` gives finite frailties in ``[0, 2]`` and non-negative weights."""
        try:
            with np.errstate(all="ignore"):
                z, w = self.nodes()
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return False
        return bool(np.all(np.isfinite(z)) and np.all(np.isfinite(w)) and np.all((z >= 0) & (z <= 2))
                    and np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-9)

    @property
    def is_independent(self) -> bool:
        """True when the frailty leaves defects independent (``correlation == 0``)."""
        return self.correlation == 0.0

    @property
    def alpha(self) -> float:
        """The shape ``a`` of ``F ~ Beta(a, a)``, ``(1 - rho) / (2 rho)`` (infinite when independent)."""
        rho = self.correlation
        return math.inf if rho == 0.0 else (1.0 - rho) / (2.0 * rho)

    @overload
    @staticmethod
    def probability(p: float, z: float) -> float: ...

    @overload
    @staticmethod
    def probability(p: NDArray[np.float64] | float, z: NDArray[np.float64]) -> NDArray[np.float64]: ...

    @overload
    @staticmethod
    def probability(p: NDArray[np.float64], z: NDArray[np.float64] | float) -> NDArray[np.float64]: ...

    @staticmethod
    def probability(p: NDArray[np.float64] | float, z: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
        """The probability ``p + min(p, 1 - p)(z - 1)`` of a patient of frailty ``z``.

        On arrays it works element by element (broadcast), so that a batch of
        probabilities is evaluated at every quadrature node in one call.

        Examples
        --------
        >>> Frailty.probability(np.array([0.1, 0.8]), np.array([[0.5], [1.5]])).round(6).tolist()
        [[0.05, 0.7], [0.15, 0.9]]
        """
        if isinstance(p, float | int) and isinstance(z, float | int):
            return p + min(p, 1.0 - p) * (z - 1.0)
        return p + np.minimum(p, 1.0 - np.asarray(p)) * (np.asarray(z) - 1.0)

    def sampler(self, generator: np.random.Generator, block: int = 1024) -> Callable[[], float]:
        """A function returning successive frailties ``Z`` drawn from ``generator``."""
        a = self.alpha

        def blocks() -> Iterator[float]:
            while True:
                yield from (2.0 * generator.beta(a, a, block)).tolist()

        return blocks().__next__

    def nodes(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Quadrature frailties ``z`` and weights ``w`` with ``sum w f(z) ~ E[f(Z)]``."""
        if self.is_independent:
            return np.ones(1), np.ones(1)
        a = self.alpha
        # Beta(a, a) on [0, 1] is the Jacobi weight (1 - x)^(a-1) (1 + x)^(a-1) on [-1, 1]
        from scipy.special import roots_jacobi  # imported on first use: scipy.special is slow to import

        x, w = roots_jacobi(NODES, a - 1.0, a - 1.0)
        with np.errstate(invalid="ignore"):
            return 1.0 + x, w / w.sum()

    def expect(self, f: Callable[[float], float]) -> float:
        """``E[f(Z)]`` by Gauss-Jacobi quadrature (exact for polynomials of degree < 2 * NODES)."""
        z, w = self.nodes()
        return float(sum(wi * f(zi) for zi, wi in zip(z, w)))

    def defect_free(self, probabilities: Sequence[float]) -> float:
        """Probability that a patient has none of the given defects, ``E[prod (1 - p_i(Z))]``."""
        return self.expect(lambda z: math.prod(1.0 - self.probability(p, z) for p in probabilities))

