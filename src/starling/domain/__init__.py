"""Pure rules and values: no I/O imports here."""
