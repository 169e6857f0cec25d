"""Who is asking, and what they may do (CONTRACT.md, "Who is asking").

Every request and every dashboard action resolves to a `Principal` from a
credential (a personal API key, an OIDC access token, the service token, a
dashboard session or a one-time ticket standing for one of those); what the
principal may do is `access.policy`'s table. Nothing here trusts a body to
say who acts.
"""
