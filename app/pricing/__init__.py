"""Model catalog, aliases, workspace prices, FX rates and cost resolution (CONTRACT §3)."""
