"""Reference records every fact points at: partners, internal reps and customers."""
