"""Pure functions from data to what a panel shows: rows, labels, figures (no browser)."""
