"""Meetings (会议): scheduling and its checks, the cadence watchdog and the sweeps that remind and notice."""
