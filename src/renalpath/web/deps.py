"""The registry engine of one web-app instance, opened once and shared by all requests.

Pages that need the registry (studies, patients, audit, import) answer 503 with a clear
message when the server was started without a database, instead of failing deep inside SQL.
"""

from __future__ import annotations

import threading

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from renalpath.registry.db import make_engine

_LOCK = threading.Lock()


def engine_of(request: Request) -> Engine:
    """The app's registry engine (created on first use; one pool per app)."""
    state = request.app.state
    engine: Engine | None = getattr(state, "registry_engine", None)
    if engine is not None:
        return engine
    url = request.app.state.settings.database_url
    if not url:
        raise HTTPException(503, "no registry database configured (set RENALPATH_DATABASE_URL)")
    with _LOCK:
        engine = getattr(state, "registry_engine", None)
        if engine is None:
            engine = make_engine(url)
            state.registry_engine = engine
    return engine


def actor_of(name: str) -> str:
    """Audit actor for a web user, the same form the admin pages use."""
    return f"web:{name}"
