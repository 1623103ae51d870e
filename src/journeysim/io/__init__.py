"""The scenario file format: the only code that knows TOML (layer 2).

Reads scenario files (``extends`` chains included) into plain specs, applies
``--set`` overrides, and builds the validated :class:`~journeysim.model.Model`.
It imports :mod:`journeysim.model` and :mod:`journeysim.errors` only.
"""
