//! Block chunk segment files (`chunks/000001`, ...): see `shared/formats/tsdb-block.md` §4.
