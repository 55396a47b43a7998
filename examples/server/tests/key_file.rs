//! The development key file: created owner-only from the start, never written through an
//! existing path.

use std::path::PathBuf;

use example_server::secret_key;

/// A fresh, empty folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "example-server-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn a_new_key_file_is_owner_only_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    let file = dir.join("auth.key");
    let key = secret_key(None, &file).unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    // Read back on the next start, and nothing else is left in the folder.
    let again = secret_key(None, &file).unwrap();
    assert_eq!(key.to_base64(), again.to_base64());
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "no temporary file is left behind");
    std::fs::remove_dir_all(dir).unwrap();
}

/// An existing path is never written through: a planted (dangling) symbolic link at the
/// key's path must not make the server write its key where the link points.
#[cfg(unix)]
#[test]
fn a_key_is_never_written_through_an_existing_path() {
    let dir = scratch("symlink");
    let file = dir.join("auth.key");
    let target = dir.join("somewhere-else");
    std::os::unix::fs::symlink(&target, &file).unwrap();
    assert!(secret_key(None, &file).is_err());
    assert!(!target.exists(), "the key was written through the link");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_environment_wins_over_the_file() {
    let dir = scratch("env");
    let file = dir.join("auth.key");
    let from_env = auth_core::SecretKey::generate().to_base64();
    let key = secret_key(Some(&from_env), &file).unwrap();
    assert_eq!(key.to_base64(), from_env);
    assert!(!file.exists());
    std::fs::remove_dir_all(dir).unwrap();
}
