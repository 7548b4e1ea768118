"""Organisations and people: the tree of levels, people and their roles, the council's composition, assisted participation (代办)."""
