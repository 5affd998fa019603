"""HTTP entry points: every route, the admin blueprint, the edge and the home-region middleware."""
