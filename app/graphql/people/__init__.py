"""People: sign-in, sessions, invitations, password links and the workspace's members."""
