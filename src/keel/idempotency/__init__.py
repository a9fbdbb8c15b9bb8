"""Idempotency keys: a retried POST with the same ``Idempotency-Key`` and body gets
the first answer again and changes nothing; the same key with another body is a 422."""
