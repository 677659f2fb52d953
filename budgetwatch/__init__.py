"""budgetwatch: crawl, extract and validate Chinese departmental budget and final-account disclosures."""

from budgetwatch.memory import keep_freed_memory

keep_freed_memory()  # before anything imports polars: its allocator reads the setting then
