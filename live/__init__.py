"""The live floor: every live conference's state in Redis, its ordering and its change feed.

The rules (SequenceNumber ordering, idempotency, derived call state) live here
and nowhere else; the callback service, the API and the dashboard ask this
package.
"""
