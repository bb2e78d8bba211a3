"""TPC-H for the tuning benchmark: data generation, loading, measuring, and the peer's runner."""
