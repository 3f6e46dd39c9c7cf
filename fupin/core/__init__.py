"""The ground floor: configuration, files, SQL quoting, reference data, text safety and messages.

Nothing here imports the warehouse, the pipeline, the flows or the face."""
