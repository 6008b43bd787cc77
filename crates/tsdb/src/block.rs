//! Block directories: `meta.json`, tombstones, writing, opening and merging blocks.
