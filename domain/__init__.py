"""The rules of the consultation process, one package per capability.

Chat handlers, the CLI, the scheduler (and later the console and the mini-program API) all call
these packages; nothing here imports the transport (``bot``), the chat (``handlers``) or the
scheduler. ``errors`` and ``settings`` are shared by every package.
"""
