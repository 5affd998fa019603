"""The web admin console: static pages and the local proxy that signs their admin calls.

`m2m console` starts it (`m2m_client.cli.console`); `make local` starts the same server
pointed at the local service (no signing there). See `server.py` for the security model.
"""

from __future__ import annotations

from m2m_client.console.server import ConsoleServer, Upstream, serve_in_thread

__all__ = ["ConsoleServer", "Upstream", "serve_in_thread"]
