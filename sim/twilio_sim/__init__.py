"""A local stand-in for the Twilio REST API and its callbacks (`earpiece sim`).

It speaks Twilio's paths, form parameters, Basic auth, JSON shapes and error
shape, enforces the rules Earpiece depends on, and posts signed conference
and call-progress callbacks exactly as Twilio does, so that the real `twilio`
SDK and the real callback service run against it unchanged.
"""
