"""The event stream: a workspace's raw events, newest first."""
