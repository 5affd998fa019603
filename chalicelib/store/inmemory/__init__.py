"""The in-memory fake, one module per aggregate (composed in :mod:`..memory`)."""
