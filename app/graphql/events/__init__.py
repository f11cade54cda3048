"""`events`: the raw event stream, newest first."""
