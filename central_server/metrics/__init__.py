"""Operational figures: one snapshot read from the database and the evidence disk, exposed at
`/metrics` in Prometheus' text format and evaluated by the alert rules (`central_server.alerts`).
"""
