"""Attack tests reuse the web layer's apps and logged-in clients."""

from tests.web.conftest import accounts, app, client  # noqa: F401  (pytest fixtures)
