"""Plans, their features and limits, and the gates that enforce them."""
