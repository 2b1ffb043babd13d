"""Winnow: curate supervised fine-tuning pairs."""
