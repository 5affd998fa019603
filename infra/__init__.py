"""Infrastructure entry points: the local stack (``make local``) and, later, deployment."""
