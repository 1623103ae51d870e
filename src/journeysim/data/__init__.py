"""Data in: distributions fitted to a hospital's own samples, and event logs read into columns.

The layer between the scenario file format (:mod:`journeysim.io`) and the engine: it
builds model pieces (:mod:`journeysim.model` distributions) from data, and may import
``model`` and ``io``; ``analysis`` and ``outputs`` build on it (discovery, fidelity,
plots of fits). Heavy libraries (scipy.stats) load when a function needs them.
"""

#: the words read as true and as false in a true/false column (compared lower-case, stripped)
TRUE_WORDS = frozenset({"true", "yes", "y", "t", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "no", "n", "f", "0", "0.0"})
