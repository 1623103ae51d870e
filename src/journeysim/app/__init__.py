"""The what-if app (``journeysim app SCENARIO``): change a scenario's inputs in the browser and see the effect.

It needs the ``app`` extra (``pip install "journeysim[app]"``: Starlette and uvicorn); the
page uses HTMX, shipped in ``static/`` (BSD Zero-Clause licence), so it needs no network.
:func:`journeysim.app.server.create_app` builds the application; the controls, their
checking and the redesign file live in :mod:`journeysim.io.whatif`.
"""

__all__: list[str] = []
