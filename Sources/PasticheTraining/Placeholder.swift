// Placeholder until this target gains code.
