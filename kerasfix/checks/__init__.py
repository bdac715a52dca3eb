"""Rules that need code rather than catalogue data: the legacy Functional API, model misuse, shapes."""
