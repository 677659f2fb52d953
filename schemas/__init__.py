"""pandera schemas (polars backend) for the canonical frames and for the accounting identities."""
