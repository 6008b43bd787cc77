//! The hash ring (layer 3): instances with tokens and states, replication sets, zone awareness,
//! and the KV backends (in-memory for one process, a real membership/KV engine across nodes).
