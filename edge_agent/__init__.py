"""The box side of trafficwatch: capture, detection, rules, evidence, outbox and publisher."""
