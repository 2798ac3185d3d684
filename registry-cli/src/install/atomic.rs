//! Crash-safe file replacement: write a temp file beside the target, fsync, rename over it. A reader (or
//! a crash) sees the old file or the new one, never half of either.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::InstallError;

/// Suffix of the copy of a config file's previous content, kept beside it.
pub const BACKUP_SUFFIX: &str = ".mcp-reg.bak";

/// The file a write to `path` really changes: the target of a symlink (dotfile managers link configs),
/// so the link survives.
pub fn resolve_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// Where the backup of `path` goes.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(BACKUP_SUFFIX);
    path.with_file_name(name)
}

/// Replaces `path` with `contents`, keeping its permissions. With `backup`, the previous content (if any)
/// is first saved (also atomically) to [`backup_path`]; returns that path.
pub fn replace(
    path: &Path,
    contents: &[u8],
    backup: bool,
) -> Result<Option<PathBuf>, InstallError> {
    let path = resolve_target(path);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| InstallError::io("create directory", &dir, e))?;
    let previous = match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(InstallError::io("read", &path, err)),
    };
    let permissions = fs::metadata(&path).ok().map(|m| m.permissions());
    let mut saved = None;
    if backup && let Some(previous) = &previous {
        let backup = backup_path(&path);
        write_replace(&backup, &dir, previous, permissions.as_ref())?;
        saved = Some(backup);
    }
    write_replace(&path, &dir, contents, permissions.as_ref())?;
    Ok(saved)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn write_replace(
    path: &Path,
    dir: &Path,
    contents: &[u8],
    permissions: Option<&fs::Permissions>,
) -> Result<(), InstallError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (file, temp) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.mcp-reg-{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => break (file, temp),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(InstallError::io("create temporary file in", dir, err)),
        }
    };
    let result = fill(file, &temp, contents, permissions)
        .and_then(|()| fs::rename(&temp, path).map_err(|e| InstallError::io("replace", path, e)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    sync_dir(dir);
    Ok(())
}

fn fill(
    mut file: File,
    temp: &Path,
    contents: &[u8],
    permissions: Option<&fs::Permissions>,
) -> Result<(), InstallError> {
    file.write_all(contents)
        .map_err(|e| InstallError::io("write", temp, e))?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions.clone())
            .map_err(|e| InstallError::io("set permissions of", temp, e))?;
    }
    file.sync_all()
        .map_err(|e| InstallError::io("sync", temp, e))
}

/// Makes the rename itself durable; best effort (not possible on every platform).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn replaces_with_backup_and_no_leftovers() {
        let dir = std::env::temp_dir().join(format!("mcp-reg-atomic-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("c.json");
        assert_eq!(replace(&path, b"one", true).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let backup = replace(&path, b"two", true).unwrap().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read(&backup).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let names: Vec<_> = fs::read_dir(dir.join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
