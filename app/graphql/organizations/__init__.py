"""`organizations`, the organization health model and organization plans."""
