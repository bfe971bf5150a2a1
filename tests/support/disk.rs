//! A disk that fills up: a small tmpfs of the test's own over a data
//! directory (mounting one needs root, as CI has), and a file that takes
//! every free byte of it. Shared by the disk and chaos tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `MIB` MiB mounted on a folder, unmounted when dropped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    pub fn mount(dir: &Path, mib: u32) -> Self {
        std::fs::create_dir_all(dir).expect("mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "adpipe-test"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            output.status.success(),
            "these tests mount a small tmpfs to fill a disk, which needs root (CI runs as \
             root): mount said {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Self(dir.to_owned())
    }

    /// Gives the file system `mib` MiB, keeping what it holds: space back
    /// the way an operator grows a volume, without a restart.
    pub fn resize(&self, mib: u32) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={mib}m")])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(status.success(), "remounting the tmpfs at {mib} MiB");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the disk refuses more.
pub fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(count) => written += count as u64,
            Err(error) if error.kind() == std::io::ErrorKind::StorageFull => break,
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
    // Smaller writes take the last partial blocks too.
    for size in [4096usize, 512, 1] {
        while file.write(&chunk[..size]).is_ok_and(|count| count > 0) {
            written += size as u64;
        }
    }
    let _ = file.flush();
    written
}
