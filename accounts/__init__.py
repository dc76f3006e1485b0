"""The accounts app: sign-in, its throttling, password reset, and the permission backend."""
