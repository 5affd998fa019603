"""Admin use cases (APIs, apps, secrets, grants, signing keys). No HTTP in here."""
