"""Earpiece: process plumbing shared by every part (settings, Redis, roster, command line)."""
