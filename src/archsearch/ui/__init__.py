"""The web dashboard: a read-only view of experiments and one-shot runs in storage.

`archsearch view [ID]` and `Experiment.run(config, port=...)` start it (see docs/dashboard.md).
It needs the `ui` extra (starlette, uvicorn, plotly).
"""

from archsearch.ui.app import create_app
from archsearch.ui.server import ServerHandle, serve_in_background

__all__ = ["ServerHandle", "create_app", "serve_in_background"]
