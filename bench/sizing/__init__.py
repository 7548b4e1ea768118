"""Sizing figures: PostgreSQL connections per process, Redis memory per follower."""
