"""Workspaces, apps (ingest credentials), API tokens and operators."""
