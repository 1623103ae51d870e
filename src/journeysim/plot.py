"""The plots of a run, at their public path: ``import journeysim.plot`` or ``js.plot``.

They live in :mod:`journeysim.outputs.plot`; this module is the same functions
under the name users import (it loads matplotlib, so ``import journeysim`` does not).
"""

from .outputs.plot import *  # noqa: F403
from .outputs.plot import __all__ as __all__
