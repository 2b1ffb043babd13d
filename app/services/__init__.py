"""Domain logic and every query. Services flush, never commit; they raise app.errors, never HTTP errors."""
