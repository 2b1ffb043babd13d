"""In-process job runner and the job functions it knows (see runner.py, registry.py)."""
