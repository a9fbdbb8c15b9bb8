"""Reports over every domain, read from the analytics database (read-only)."""
