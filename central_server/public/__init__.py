"""The citizens' search (issue 10): exact plate lookup over `published_violation`, nothing else."""
