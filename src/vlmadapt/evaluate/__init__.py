"""Evaluation: language-aware metrics, benchmark scorers, statistics."""
