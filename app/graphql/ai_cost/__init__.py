"""`aiCost`: AI spend, usage and value signals by customer, feature, model, … (CONTRACT §4)."""
