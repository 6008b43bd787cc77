//! Store-gateway role: serves series and chunks of blocks in object storage.
//!
//! A role crate (layer 4): it depends on layers 0–3 only and never on another role; roles talk
//! through `norn-rpc`. It exposes its configuration and its service for the module graph in
//! `norn-server`.
