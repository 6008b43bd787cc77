//! PromQL with Prometheus 3.x semantics (layer 2), evaluated over a storage-agnostic
//! `Queryable` so the engine can be tested on its own.
