"""Acquire: from the portal columns of the source registry to archived report files.

Takes the registry of sources (portal columns, allowed hosts, departments to follow) and gives archived files under
their sha256 with their classification (department, year, kind), plus a crawl report of what was found, skipped,
refused or failed. Knows nothing of reading, checking or publishing.
"""
