//! `import` for recipes: modules load only from the recipe's own folder.
//!
//! Rhai's default file resolver would read any path a script names, absolute or through `..`.
//! This one accepts only relative paths made of plain names, resolves them in the folder the
//! host names ([`Host::module_root`]), refuses a file that a symlink leads out of that folder,
//! and refuses every import when the host names no folder (a notebook, a fuzzer).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position};

type RhaiResultOf<T> = Result<T, Box<EvalAltResult>>;
type SharedModule = Arc<Module>;

use super::host::Host;

/// The module resolver every DSL engine uses.
pub struct SandboxResolver {
    host: Arc<Host>,
}

impl SandboxResolver {
    pub fn new(host: Arc<Host>) -> Self {
        SandboxResolver { host }
    }

    /// The folder to load `path` from, once `path` is known to stay inside it.
    fn check(&self, path: &str, pos: Position) -> RhaiResultOf<PathBuf> {
        let fail = |msg: String| -> RhaiResultOf<PathBuf> {
            Err(EvalAltResult::ErrorRuntime(Dynamic::from(msg), pos).into())
        };
        let Some(root) = self.host.module_root() else {
            return fail(format!(
                "import \"{path}\": imports are not available here (modules load only from the folder of a recipe run with `gan run`)"
            ));
        };
        let p = Path::new(path);
        if path.is_empty()
            || p.components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return fail(format!(
                "import \"{path}\": modules load only from the recipe's folder (no absolute paths or `..`)"
            ));
        }
        let mut file = root.join(p);
        file.set_extension("rhai");
        if let (Ok(real), Ok(base)) = (file.canonicalize(), root.canonicalize()) {
            if !real.starts_with(&base) {
                return fail(format!(
                    "import \"{path}\" leads outside the recipe's folder (through a symlink to {})",
                    real.display()
                ));
            }
        }
        Ok(root)
    }
}

impl ModuleResolver for SandboxResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> RhaiResultOf<SharedModule> {
        let root = self.check(path, pos)?;
        FileModuleResolver::new_with_path(root).resolve(engine, source, path, pos)
    }
}
