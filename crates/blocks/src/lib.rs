//! TSDB blocks in object storage (layer 2): the shipper, deletion and no-compact markers, the
//! bucket index and index-headers, in Mimir's bucket layout.
