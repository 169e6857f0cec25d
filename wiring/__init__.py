"""Wiring: what a process that reads the floor and acts on calls holds, made once.

Above `earpiece/` (the plumbing: settings, the Redis client, the roster) and beside the
parts it assembles (live/, coach/, archive/): the callback service and the dashboard
both build their clients here.
"""
