"""Publish: from checked documents to the dataset, the quarantine, stewards' alerts and output files.

Takes each document's extraction and findings and gives a published dataset (DuckDB and Parquet) or a quarantined
version with its findings, one alert per steward per run for new failures, and the check report as JSON, text and CSV.
"""
