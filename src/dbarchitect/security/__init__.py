"""`dbarch secure`: row level security audited, generated and proven on a real database."""
