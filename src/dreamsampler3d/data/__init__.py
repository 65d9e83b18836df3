"""Synthetic flat-icon data for the embedded prior: scenes, tokenizer, judge."""
