//! Crash-safe file replacement: write a temp file beside the target, fsync, rename over it. A reader (or
//! a crash) sees the old file or the new one, never half of either.
//!
//! The previous content is kept as `<file>.mcp-reg-<UTC yyyymmddThhmmssZ>.bak` (the newest
//! [`KEEP_BACKUPS`] per file). Temp files are named `.<file>.mcp-reg-<pid>-<n>.tmp`, so one left by a
//! killed process is recognizable and the next successful write removes it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::InstallError;

/// Marks every file mcp-reg creates beside a config: `<file>.mcp-reg-...`.
pub const MARK: &str = ".mcp-reg-";
/// Backups kept per config file; older ones mcp-reg made are deleted.
pub const KEEP_BACKUPS: usize = 5;
/// A temp file of a process that may still be writing is left alone for this long.
const STALE_TEMP_AGE: Duration = Duration::from_mins(1);

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

/// `yyyymmddThhmmssZ` (UTC) for `time`.
pub fn timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .cast_signed();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to civil date (Howard Hinnant's algorithm), valid for any date after 1970.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The sort key of a backup name `<file>.mcp-reg-<ts>[-<n>].bak`; `None` for any other name.
fn backup_key(file: &str, candidate: &str) -> Option<(String, u32)> {
    let middle = candidate
        .strip_prefix(file)?
        .strip_prefix(MARK)?
        .strip_suffix(".bak")?;
    let (stamp, n) = match middle.split_once('-') {
        Some((stamp, n)) => (stamp, n.parse::<u32>().ok()?),
        None => (middle, 1),
    };
    let b = stamp.as_bytes();
    let valid = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    valid.then(|| (stamp.to_owned(), n))
}

/// The backups mcp-reg made of `path`, oldest first.
pub fn backups(path: &Path) -> Vec<PathBuf> {
    let path = resolve_target(path);
    let (Some(dir), name) = (path.parent(), file_name(&path)) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<((String, u32), PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let key = backup_key(&name, &e.file_name().to_string_lossy())?;
            Some((key, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// A backup name for `path` at `time`, numbered after any backup from the same second so names sort
/// in the order the backups were made.
fn new_backup_path(path: &Path, time: SystemTime) -> PathBuf {
    let name = file_name(path);
    let stamp = timestamp(time);
    let taken = backups(path)
        .iter()
        .filter_map(|p| backup_key(&name, &file_name(p)))
        .filter(|(s, _)| *s == stamp)
        .map(|(_, n)| n)
        .max();
    let candidate = match taken {
        None => format!("{name}{MARK}{stamp}.bak"),
        Some(n) => format!("{name}{MARK}{stamp}-{}.bak", n.saturating_add(1)),
    };
    path.with_file_name(candidate)
}

/// Replaces `path` with `contents`, keeping its permissions. With `backup`, the previous content (if any)
/// is first saved to a timestamped backup beside it; returns that path.
pub fn replace(
    path: &Path,
    contents: &[u8],
    backup: bool,
) -> Result<Option<PathBuf>, InstallError> {
    replace_inner(path, contents, backup, Expect::Anything)
}

/// What the file must hold for a replace to go ahead.
#[derive(Clone, Copy)]
enum Expect<'a> {
    Anything,
    /// Exactly these bytes (`None`: no file).
    Exactly(Option<&'a [u8]>),
}

/// [`replace`], but only if the file still holds `expected` (`None`: the file must not exist); checked
/// before anything is written and again right before the rename, so a concurrent edit is not lost.
pub fn replace_if(
    path: &Path,
    contents: &[u8],
    backup: bool,
    expected: Option<&[u8]>,
) -> Result<Option<PathBuf>, InstallError> {
    replace_inner(path, contents, backup, Expect::Exactly(expected))
}

fn read_current(path: &Path) -> Result<Option<Vec<u8>>, InstallError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(InstallError::io("read", path, err)),
    }
}

fn replace_inner(
    path: &Path,
    contents: &[u8],
    backup: bool,
    expected: Expect<'_>,
) -> Result<Option<PathBuf>, InstallError> {
    let path = resolve_target(path);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| InstallError::io("create directory", &dir, e))?;
    let previous = read_current(&path)?;
    let unchanged = |now: &Option<Vec<u8>>| match expected {
        Expect::Anything => true,
        Expect::Exactly(want) => now.as_deref() == want,
    };
    if !unchanged(&previous) {
        return Err(InstallError::ConcurrentModification { path });
    }
    let permissions = fs::metadata(&path).ok().map(|m| m.permissions());
    let mut saved = None;
    if backup && let Some(previous) = &previous {
        let backup = new_backup_path(&path, SystemTime::now());
        let check = |_: &Path| Ok(());
        write_replace(&backup, &dir, previous, permissions.as_ref(), &check)?;
        prune_backups(&path);
        saved = Some(backup);
    }
    let check = |temp: &Path| {
        test_hooks::after_temp_write(temp)?;
        if unchanged(&read_current(&path)?) {
            Ok(())
        } else {
            Err(InstallError::ConcurrentModification { path: path.clone() })
        }
    };
    if let Err(err) = write_replace(&path, &dir, contents, permissions.as_ref(), &check) {
        // The backup of an edit that did not happen would only confuse.
        if let Some(saved) = &saved {
            let _ = fs::remove_file(saved);
        }
        return Err(err);
    }
    remove_stale_temps(&path, &dir);
    Ok(saved)
}

/// Deletes all but the newest [`KEEP_BACKUPS`] backups of `path`; best effort.
fn prune_backups(path: &Path) {
    let all = backups(path);
    let excess = all.len().saturating_sub(KEEP_BACKUPS);
    for old in &all[..excess] {
        let _ = fs::remove_file(old);
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn temp_prefix(name: &str) -> String {
    format!(".{name}{MARK}")
}

/// Removes temp files of `path` (and of its backups) left by processes that died mid-write: on Linux, those whose process
/// is gone; elsewhere (and for reused pids), those older than a minute. Best effort.
fn remove_stale_temps(path: &Path, dir: &Path) {
    let prefix = temp_prefix(&file_name(path));
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let own = std::process::id();
    let have_proc = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Temps of the config (`.<file>.mcp-reg-<pid>-<n>.tmp`) and of its backups
        // (`.<file>.mcp-reg-<stamp>.bak.mcp-reg-<pid>-<n>.tmp`).
        let Some(rest) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
            .map(|r| r.rsplit_once(MARK).map_or(r, |(_, last)| last))
        else {
            continue;
        };
        let Some(pid) = rest
            .split_once('-')
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let dead = have_proc && !Path::new("/proc").join(pid.to_string()).exists();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if dead || old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn write_replace(
    path: &Path,
    dir: &Path,
    contents: &[u8],
    permissions: Option<&fs::Permissions>,
    before_rename: &dyn Fn(&Path) -> Result<(), InstallError>,
) -> Result<(), InstallError> {
    let prefix = temp_prefix(&file_name(path));
    let (file, temp) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{prefix}{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => break (file, temp),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(InstallError::io("create temporary file in", dir, err)),
        }
    };
    let result = fill(file, &temp, contents, permissions)
        .and_then(|()| before_rename(&temp))
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

/// Failure injection between the temp write and the rename of a config file, for crash-safety tests.
/// Compiled into debug builds only; release builds never fail here.
pub mod test_hooks {
    use std::path::Path;

    use super::InstallError;

    /// Environment variable: `1` makes the write fail after the temp file is synced (as an error);
    /// `abort` kills the process right there, as a crash would.
    pub const FAIL_ENV: &str = "MCP_REG_TEST_FAIL_AFTER_TEMP_WRITE";

    #[cfg(debug_assertions)]
    thread_local! {
        static FAIL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Makes config writes on this thread fail after the temp write (debug builds only).
    #[cfg(debug_assertions)]
    pub fn fail_after_temp_write(on: bool) {
        FAIL.with(|f| f.set(on));
    }

    #[cfg(debug_assertions)]
    pub(super) fn after_temp_write(temp: &Path) -> Result<(), InstallError> {
        let env = std::env::var(FAIL_ENV).unwrap_or_default();
        if env == "abort" {
            std::process::abort();
        }
        if env == "1" || FAIL.with(std::cell::Cell::get) {
            return Err(InstallError::io(
                "rename (injected failure)",
                temp,
                std::io::Error::other("injected failure between temp write and rename"),
            ));
        }
        Ok(())
    }

    #[cfg(not(debug_assertions))]
    #[allow(clippy::unnecessary_wraps)]
    pub(super) fn after_temp_write(_temp: &Path) -> Result<(), InstallError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_470_668);
        assert_eq!(timestamp(t), "20261123T215108Z");
        let leap = UNIX_EPOCH + Duration::from_hours(264_384);
        assert_eq!(timestamp(leap), "20000229T000000Z");
        assert_eq!(
            backup_key("c.json", "c.json.mcp-reg-20261123T215108Z-3.bak"),
            Some(("20261123T215108Z".to_owned(), 3))
        );
        assert_eq!(backup_key("c.json", "c.json.mcp-reg-2026.bak"), None);
        assert_eq!(
            backup_key("c.json", "d.json.mcp-reg-20261123T215108Z.bak"),
            None
        );
    }

    #[test]
    fn replaces_with_timestamped_backups_and_no_leftovers() {
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
        let name = file_name(&backup);
        assert!(backup_key("c.json", &name).is_some(), "{name}");
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
        assert_eq!(names(&dir.join("sub")).len(), 2);
        // Many writes in the same second: distinct names, only the newest five kept, in order.
        for i in 3..12 {
            replace(&path, format!("v{i}").as_bytes(), true).unwrap();
        }
        let kept = backups(&path);
        assert_eq!(kept.len(), KEEP_BACKUPS);
        let contents: Vec<String> = kept
            .iter()
            .map(|p| fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(contents, ["v6", "v7", "v8", "v9", "v10"]);
        assert_eq!(names(&dir.join("sub")).len(), KEEP_BACKUPS + 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn injected_failure_and_concurrent_change_leave_the_old_file() {
        let dir = std::env::temp_dir().join(format!("mcp-reg-atomic-f-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("c.json");
        replace(&path, b"old", false).unwrap();
        test_hooks::fail_after_temp_write(true);
        let err = replace(&path, b"new", true).unwrap_err();
        test_hooks::fail_after_temp_write(false);
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(&dir), ["c.json"]);
        let err = replace_if(&path, b"new", true, Some(b"other")).unwrap_err();
        assert!(matches!(err, InstallError::ConcurrentModification { .. }));
        assert_eq!(names(&dir), ["c.json"]);
        replace_if(&path, b"new", true, Some(b"old")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // A temp file of a dead process is removed by the next write.
        let stale = dir.join(".c.json.mcp-reg-4194999-0.tmp");
        fs::write(&stale, "half").unwrap();
        replace(&path, b"newer", false).unwrap();
        if Path::new("/proc/self").exists() {
            assert!(!stale.exists());
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
