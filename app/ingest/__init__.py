"""`POST /v1/ingest`: verify, validate, strip, price and queue signed events (CONTRACT §2)."""
