//! End-to-end tests of a whole Norn node run in-process on 127.0.0.1: configuration in, HTTP
//! out. One test binary for every area (each a module) keeps link time down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod in_process;
mod query_api;
mod query_diff;
mod single_node;
mod write_api;
mod write_clients;
mod write_crash;
