"""A local stand-in for the Twilio REST API (see CONTRACT.md)."""
