//! DMS CSV ingest. (Being built.)
