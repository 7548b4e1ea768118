"""Notices and their delivery: broadcasts and their texts, the printable notice, the outbox, the senders' claims and results, mass send by tag, tag state and bulk creation for sweeps."""
