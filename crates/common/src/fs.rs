//! Small filesystem helpers the roles share.

use std::path::Path;

use crate::service::ServiceError;

/// Creates `dir` (and its parents) if needed and checks that files can be written in it.
///
/// `key` names the configuration key the directory comes from, so the error says what to fix.
pub fn ensure_writable_dir(dir: &Path, key: &str) -> Result<(), ServiceError> {
    let failed = |action: &str, error: std::io::Error| {
        ServiceError::msg(format!(
            "cannot {action} directory {} (set by {key}): {error}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(|error| failed("create", error))?;
    let probe = dir.join(".norn-write-probe");
    std::fs::write(&probe, b"").map_err(|error| failed("write into", error))?;
    std::fs::remove_file(&probe).map_err(|error| failed("write into", error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_nested_directories() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/c");
        ensure_writable_dir(&dir, "x.dir").unwrap();
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "probe removed");
    }

    #[test]
    fn a_file_in_the_way_is_an_error_naming_the_key() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("taken");
        std::fs::write(&file, b"x").unwrap();
        let error = ensure_writable_dir(&file, "blocks_storage.tsdb.dir").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("blocks_storage.tsdb.dir") && message.contains("taken"),
            "{message}"
        );
    }
}
