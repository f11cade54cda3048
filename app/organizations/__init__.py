"""Customer organizations built from event data, their plans and the health model."""
