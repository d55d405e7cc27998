"""The policy engine: pure code, no I/O beyond reading the files it is handed.

Nothing in this package imports another layer of the project. The intake,
Slack and handler layers call into it; it never calls out.
"""
