"""Apps: list, create (within `apps_max`), rotate the API secret, deactivate."""
