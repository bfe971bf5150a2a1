//! Finding the files adpipe ships beside its binary (models, policies) when
//! the user names none.

use std::path::{Path, PathBuf};

const DEFAULT_MODEL: &str = "models/efficientnet-lite0/model.toml";
const DEFAULT_POLICY: &str = "models/policies/vehicles.toml";

/// `relative` under the working directory, under the folders above the
/// executable (`target/release/adpipe`, or `/usr/local/bin/adpipe` with
/// `/usr/local/share/adpipe/`), or under the source tree it was built from.
/// Falls back to `relative` itself so the error names the path a user
/// would expect.
pub fn locate(relative: &str) -> PathBuf {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned))
    {
        for ancestor in dir.ancestors().take(4) {
            roots.push(ancestor.to_owned());
            roots.push(ancestor.join("share/adpipe"));
        }
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .iter()
        .map(|root| root.join(relative))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(relative))
}

/// The model to load: the one named, or the bundled default.
pub fn model_or_default(named: Option<&Path>) -> PathBuf {
    named.map_or_else(|| locate(DEFAULT_MODEL), Path::to_owned)
}

/// The policy to judge by: the one named, or the bundled default.
pub fn policy_or_default(named: Option<&Path>) -> PathBuf {
    named.map_or_else(|| locate(DEFAULT_POLICY), Path::to_owned)
}
