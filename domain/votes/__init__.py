"""Polls and questionnaires: creating them from files or the chat, who may answer, answers, tallies, receipts, charts and exports."""
