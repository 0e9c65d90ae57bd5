"""The counsellor side of « seconde chance »: escalation queue, takeover, hand-back and e-mail follow-up.

SQL is the source of truth (`store`); Redis carries the routing cache
(`routing`) and the notifications between processes (`events`).
"""
