"""User accounts, roles (candidate, unit admin, analyst, admin) and login throttling."""
