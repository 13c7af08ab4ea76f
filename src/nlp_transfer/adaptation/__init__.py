"""Domain-adaptation losses and their schedules, as small modules with no training loop inside."""
