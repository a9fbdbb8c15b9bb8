"""Users and their profiles: sign-up, self-service and admin management."""
