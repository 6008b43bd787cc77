//! How roles talk to each other (layer 3): one client trait per remote service with a local
//! implementation (roles in the same process) and a remote one speaking protobuf.
