"""API keys of a workspace for integrators: listed, created (shown once) and revoked."""
