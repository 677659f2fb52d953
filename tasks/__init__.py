"""Prefect tasks: thin wrappers over budgetwatch's plain functions."""
