"""Operators (superusers): unmapped models and model aliases, across all workspaces."""
