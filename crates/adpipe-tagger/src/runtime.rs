//! Finding and loading the ONNX Runtime shared library.
//!
//! adpipe links ONNX Runtime at run time (`ort`'s `load-dynamic`), so the
//! binary builds offline and one build serves CPU and CUDA machines.
//! `scripts/setup.sh` fetches the library from the `onnxruntime` (or, with
//! `--gpu`, `onnxruntime-gpu`) wheel into `.ort/cpu` (or `.ort/gpu`) of the
//! repository; `ADPIPE_ORT_LIB` or `ORT_DYLIB_PATH` point anywhere else.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The ONNX Runtime release adpipe is built and tested against.
pub const ORT_VERSION: &str = "1.31.1";

#[cfg(target_os = "linux")]
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";
#[cfg(target_os = "macos")]
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.1.31.1.dylib";
#[cfg(target_os = "windows")]
pub const ORT_LIBRARY_FILE: &str = "onnxruntime.dll";

const SETUP_HINT: &str = "Run `scripts/setup.sh` (or `scripts/setup.sh --gpu` for CUDA) from the adpipe \
     repository to fetch it, or set ADPIPE_ORT_LIB to the path of libonnxruntime.so.1.31.1";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime {ORT_VERSION} was not found; looked in: {}. {SETUP_HINT}.",
        list(searched)
    )]
    NotFound { searched: Vec<PathBuf> },
    #[error("{variable} points at {path}, which does not exist. {SETUP_HINT}.")]
    MissingOverride {
        variable: &'static str,
        path: PathBuf,
    },
    #[error("cannot load ONNX Runtime from {path}: {message}. {SETUP_HINT}.")]
    Load { path: PathBuf, message: String },
    #[error(
        "ONNX Runtime is already loaded from {loaded}; it cannot be switched to {wanted} in the same process"
    )]
    AlreadyLoaded { loaded: PathBuf, wanted: PathBuf },
    #[error("cannot start ONNX Runtime: {0}")]
    Environment(#[source] ort::Error),
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where to look for the library.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// An explicit library path; wins over everything else.
    pub library: Option<PathBuf>,
    /// Prefer the CUDA-enabled build (`.ort/gpu`) when it is there.
    pub prefer_gpu: bool,
}

/// The loaded library and its ONNX Runtime environment. One per process.
#[derive(Debug)]
pub struct Runtime {
    environment: ort::environment::Environment,
    library: PathBuf,
}

impl Runtime {
    pub fn environment(&self) -> &ort::environment::Environment {
        &self.environment
    }

    pub fn library(&self) -> &Path {
        &self.library
    }
}

static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// Loads ONNX Runtime once per process; later calls return the same
/// runtime (and fail if they ask for a different library explicitly).
pub fn runtime(options: &RuntimeOptions) -> Result<Arc<Runtime>, RuntimeError> {
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(runtime) = slot.as_ref() {
        if let Some(wanted) = &options.library
            && wanted != &runtime.library
        {
            return Err(RuntimeError::AlreadyLoaded {
                loaded: runtime.library.clone(),
                wanted: wanted.clone(),
            });
        }
        return Ok(runtime.clone());
    }
    let library = locate(options)?;
    let builder = ort::init_from(&library).map_err(|error| RuntimeError::Load {
        path: library.clone(),
        message: error.to_string(),
    })?;
    let environment = builder
        .with_name("adpipe")
        .with_telemetry(false)
        .build()
        .map_err(RuntimeError::Environment)?;
    tracing::info!(library = %library.display(), "loaded ONNX Runtime");
    let runtime = Arc::new(Runtime {
        environment,
        library,
    });
    *slot = Some(runtime.clone());
    Ok(runtime)
}

fn locate(options: &RuntimeOptions) -> Result<PathBuf, RuntimeError> {
    if let Some(path) = &options.library {
        return existing(path, "the configured ONNX Runtime library");
    }
    for variable in ["ADPIPE_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(value) = std::env::var_os(variable).filter(|value| !value.is_empty()) {
            return existing(Path::new(&value), variable);
        }
    }
    let searched = candidates(options.prefer_gpu);
    searched
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or(RuntimeError::NotFound { searched })
}

fn existing(path: &Path, variable: &'static str) -> Result<PathBuf, RuntimeError> {
    if path.is_file() {
        Ok(path.to_owned())
    } else {
        Err(RuntimeError::MissingOverride {
            variable,
            path: path.to_owned(),
        })
    }
}

/// `.ort/{gpu,cpu}/` under the working directory, under the folders above
/// the executable (`target/release/adpipe` lives two below the repository),
/// and under the repository this crate was built from; then beside the
/// executable, as an installed package would have it.
fn candidates(prefer_gpu: bool) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned));
    if let Some(dir) = &exe_dir {
        roots.extend(dir.ancestors().skip(1).take(3).map(Path::to_owned));
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let flavours: &[&str] = if prefer_gpu {
        &["gpu", "cpu"]
    } else {
        &["cpu", "gpu"]
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for root in &roots {
        for flavour in flavours {
            let path = root.join(".ort").join(flavour).join(ORT_LIBRARY_FILE);
            let path = path.canonicalize().unwrap_or(path);
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    if let Some(dir) = exe_dir {
        paths.push(dir.join(ORT_LIBRARY_FILE));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_an_error_that_names_the_setup_script() {
        let error = locate(&RuntimeOptions {
            library: Some(PathBuf::from("/nonexistent/libonnxruntime.so.1.31.1")),
            prefer_gpu: false,
        })
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("scripts/setup.sh"), "{message}");
        assert!(
            message.contains("/nonexistent/libonnxruntime.so.1.31.1"),
            "{message}"
        );
    }

    #[test]
    fn a_file_that_is_not_onnx_runtime_is_an_error_not_a_panic() {
        let fake = std::env::temp_dir().join(format!("adpipe-fake-ort-{}.so", std::process::id()));
        std::fs::write(&fake, b"not a shared library").unwrap();
        let error = runtime(&RuntimeOptions {
            library: Some(fake.clone()),
            prefer_gpu: false,
        })
        .unwrap_err();
        std::fs::remove_file(&fake).unwrap();
        assert!(matches!(error, RuntimeError::Load { .. }), "{error}");
        assert!(error.to_string().contains("scripts/setup.sh"), "{error}");
    }

    #[test]
    fn gpu_builds_are_searched_first_only_when_asked() {
        let cpu_first = candidates(false);
        let gpu_first = candidates(true);
        assert!(cpu_first[0].to_string_lossy().contains("/.ort/cpu/"));
        assert!(gpu_first[0].to_string_lossy().contains("/.ort/gpu/"));
    }
}
