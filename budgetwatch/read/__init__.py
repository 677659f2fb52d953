"""Read: from a document's bytes to the canonical model (documents, tables, line items, narrative facts).

Takes a file in any supported format (PDF, Word, Excel, HTML, text layers, scanned pages) and gives one `Extraction`:
tables recognised by what they print, exact amounts with their provenance, and the narrative's facts. The table
catalogue and the classification code list it reads against live here too.
"""
