"""Migration safety: what each statement of a migration will do to a running database."""
