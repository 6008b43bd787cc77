//! The block index file, format v2: see `shared/formats/tsdb-block.md` §3.
