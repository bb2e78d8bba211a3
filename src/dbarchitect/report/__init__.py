"""Renderers that turn a Schema into documents people read: text summaries, Markdown, counts."""
