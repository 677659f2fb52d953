"""The `budgetwatch` command line: one subcommand a stage or a whole run (extract, check, report, crawl, demo, serve).

Parses arguments, calls the stages and prints or writes their results; heavy stages are imported only by the
subcommand that needs them.
"""
