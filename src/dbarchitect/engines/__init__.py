"""The only place that opens connections, starts servers and runs SQL files."""
