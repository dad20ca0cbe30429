"""Response formats: pure functions of a Document."""
