"""`viewer`: who the token is, and its workspace's plan, limits and usage."""
