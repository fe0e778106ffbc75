"""Small helpers shared across modelctl."""
