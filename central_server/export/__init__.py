"""Evidence export: a case bundle (one ZIP) and its offline verifier; docs/evidence-bundle.md."""
