"""Service: budgetwatch on a Prefect server.

Starts a local server and worker, saves the notification blocks, creates the per-host rate limits and the failed-run
automation, and deploys the flows of deployments/prefect.yaml; the flows and tasks use its limits and channels.
"""
