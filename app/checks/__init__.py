"""The analysis checks: one module each (see base.Check); registry.py finds them."""
