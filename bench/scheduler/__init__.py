"""Sweep times against due rows among a million rows."""
