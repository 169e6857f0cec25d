"""The callback service: receives Twilio's webhooks, serves the JSON API and the SSE feed."""
