"""Prices: the global model catalog, and a workspace's own unit prices."""
