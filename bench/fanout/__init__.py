"""Fan-out of one notice through the sender processes and the WeChat stand-in."""
