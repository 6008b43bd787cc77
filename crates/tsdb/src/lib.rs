//! Norn's local storage engine (layer 2): WAL, in-memory head, XOR chunks, index v2 and blocks,
//! bit-compatible with Prometheus's TSDB.
//!
//! The engine is synchronous and free of tokio: callers run it on blocking threads. It depends
//! only on `norn-model` and `norn-common`, never on object storage or RPC.
