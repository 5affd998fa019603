"""Infrastructure entry points: the local stack (``make local``) and deployment to
AWS (``make package``, ``make deploy``, ``make destroy``; see docs/deploy.md)."""
