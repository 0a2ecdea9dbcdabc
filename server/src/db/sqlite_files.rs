//! The files of a SQLite database, made private when the server creates them: the
//! directory 0700 and the database 0600. SQLite gives the `-wal` and `-shm` files it
//! creates later the mode of the database file, so they are 0600 too. Messages and
//! password hashes are in there; other local users must not read them. Files and
//! directories that already exist are left as the operator made them.

use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents with mode 0700 (the umask can only narrow it).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the empty file `path` with mode 0600 when it is missing, before SQLite opens
/// it (SQLite would create it 0644 less the umask). An existing file is not touched.
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_directories_are_private_to_the_owner() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("data");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        // Existing: left alone, no error.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750);
    }

    #[test]
    fn a_created_file_is_private_and_an_existing_one_untouched() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("chat.db");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::write(&file, b"kept").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o640);
        assert_eq!(std::fs::read(&file).unwrap(), b"kept");
    }
}
