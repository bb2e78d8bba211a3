"""Migrations: safety checks of migration files (diffing comes with the diff issue)."""
