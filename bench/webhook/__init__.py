"""Webhook throughput and latency against a bare Flask echo and WeRoBot's echo robot."""
