"""Check: from extractions to findings.

Takes the `Extraction`s of a batch of documents and gives their findings (errors and warnings, each naming the cells or
sentences it rests on) and the rules that could not run, with the reason: accounting identities, document-level
checks (completeness, labels, codes) and narrative checks against the tables.
"""
