"""The ground floor: what every part above stands on and nothing here stands on them.

Settings (one table), the one Redis client and its key names, the embedded Redis, the
clock and time formats, text folding and phone numbers, the audit, the Twilio gateway and
its errors, passwords, private files, background tasks, stream tickets and metrics.
A module here imports only the standard library, third-party packages and core/ itself
(tests/earpiece/test_layers.py holds every part to the floors below it).
"""
