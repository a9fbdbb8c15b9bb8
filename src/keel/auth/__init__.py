"""Authentication: Argon2id passwords, JWT access tokens, current-user dependencies."""
