"""Supervisor actions through the twilio SDK: listen, whisper, barge."""
