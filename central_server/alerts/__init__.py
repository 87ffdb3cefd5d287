"""Alerts for the city's IT staff: rules over the operational snapshot, evaluated by a scheduler
job, deduplicated through the audit chain, delivered by e-mail (SMTP) and/or a webhook.
"""
