"""Time: the one scheduler process and its jobs."""
