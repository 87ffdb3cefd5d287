"""Remote configuration and commands on the box: signed configs applied with rollback, commands
answered on the reply topic (see `supervisor`)."""
