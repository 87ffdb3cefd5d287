"""Broker security: the ACL model, users and passwords, Mosquitto and EMQX files, the TLS CA.

`trafficwatch server broker-acl` (`cli.py`) writes what a broker needs to let each box write only
its own topics, the ingest read evidence and status, and the control client send configs and
commands, with anonymous clients refused and TLS under a CA the deployment owns.
"""
