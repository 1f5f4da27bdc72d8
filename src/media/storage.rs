//! Where media files live. Local disk under `MEETFIELD_DATA_DIR/media` by
//! default; the trait is what an S3-compatible store would implement.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

#[async_trait]
pub trait Storage: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there; a reader never
    /// sees a half-written file.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()>;
    /// The file under `key`, or None.
    async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>>;
    /// Removes `key`; a missing file is not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// Keys are ours (`media/<id>/original.jpg`); anything else is refused so
/// a request path can never leave the media directory.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() < 200
        && !key.starts_with('/')
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    pub fn new(root: impl Into<PathBuf>) -> LocalDisk {
        LocalDisk { root: root.into() }
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        if !valid_key(key) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid media key {key:?}"),
            ));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl Storage for LocalDisk {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // The attachment's directory goes with its last file.
        if let Some(dir) = path.parent()
            && dir != self.root
        {
            let _ = tokio::fs::remove_dir(dir).await;
        }
        Ok(())
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("media path without directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{:016x}", rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        assert!(valid_key("media/123/original.jpg"));
        for bad in [
            "",
            "/etc/passwd",
            "media/../x",
            "media//x",
            "a/./b",
            "a b",
            "x%2f",
        ] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn put_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDisk::new(dir.path());
        s.put("media/1/original.png", b"png".to_vec())
            .await
            .unwrap();
        assert_eq!(
            s.get("media/1/original.png").await.unwrap().unwrap(),
            b"png"
        );
        s.delete("media/1/original.png").await.unwrap();
        assert!(s.get("media/1/original.png").await.unwrap().is_none());
        assert!(
            !dir.path().join("media/1").exists(),
            "empty directory removed"
        );
        s.delete("media/1/original.png").await.unwrap();
        assert!(s.put("../x", vec![]).await.is_err());
    }
}
