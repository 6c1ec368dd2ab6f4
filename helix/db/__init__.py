"""PostgreSQL plumbing: migrations and connections for the read side."""
