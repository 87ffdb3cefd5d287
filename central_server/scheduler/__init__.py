"""The scheduler process: daily workflow jobs and the signed audit head, one instance at a time."""
