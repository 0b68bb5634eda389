//! `cargo xtask test`'s crate packaging check: every publishable crate has
//! the metadata a registry shows (description, license, readme, keywords,
//! categories) and a crate-level example, and `cargo package` builds its
//! `.crate`.
//!
//! `cargo package` has no `--ignore-rust-version`, and its verification
//! build (the packaged sources compiled on their own) refuses the native
//! backend's parser crates, which declare Rust 1.96 (see
//! `docs/architecture.md`). So every crate is packaged with `--no-verify`,
//! and the crates that do not reach those parser crates are then packaged
//! again with the verification build. Packaging them all in one command
//! lets cargo resolve our path dependencies against the crates being
//! packaged, not against crates.io, which does not have them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The dependencies that need `--ignore-rust-version` (Rust 1.96).
const NEEDS_NEWER_RUST: &str = "rustpython-";

/// Checks every publishable crate's metadata, then packages them.
pub fn check() -> Result<()> {
    let packages = publishable_packages()?;
    let mut problems = Vec::new();
    for package in &packages {
        problems.extend(metadata_problems(package)?);
    }
    if !problems.is_empty() {
        bail!("crate metadata:\n  {}", problems.join("\n  "));
    }
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    cargo_package(&names, false)?;
    let unverifiable = needing_newer_rust(&packages);
    let verifiable: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !unverifiable.contains(*name))
        .collect();
    cargo_package(&verifiable, true)?;
    println!(
        "packaged {} crates ({} verified by building their packaged sources; not {:?}, \
         whose parser crates declare Rust 1.96)",
        names.len(),
        verifiable.len(),
        unverifiable
    );
    Ok(())
}

/// What `cargo metadata` says of one workspace crate that may be published.
struct Package {
    name: String,
    manifest: Value,
    dir: PathBuf,
}

fn publishable_packages() -> Result<Vec<Package>> {
    let output = Command::new(cargo_binary())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(compileall_tests::workspace_root())
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let mut packages = Vec::new();
    for manifest in metadata["packages"].as_array().context("no packages")? {
        // `publish = false` is an empty list of registries.
        if manifest["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let path = manifest["manifest_path"]
            .as_str()
            .context("manifest_path")?;
        packages.push(Package {
            name: manifest["name"].as_str().context("name")?.to_owned(),
            dir: Path::new(path)
                .parent()
                .context("manifest folder")?
                .to_owned(),
            manifest: manifest.clone(),
        });
    }
    Ok(packages)
}

/// What a registry page of `package` would lack.
fn metadata_problems(package: &Package) -> Result<Vec<String>> {
    let manifest = &package.manifest;
    let mut missing = Vec::new();
    for field in ["description", "license", "repository", "readme"] {
        if manifest[field].as_str().is_none_or(str::is_empty) {
            missing.push(format!("no {field}"));
        }
    }
    if let Some(readme) = manifest["readme"].as_str()
        && !package.dir.join(readme).is_file()
    {
        missing.push(format!("readme {readme} is not a file"));
    }
    // crates.io takes at most 5 keywords.
    for (field, most) in [("keywords", 5), ("categories", 5)] {
        let count = manifest[field].as_array().map_or(0, Vec::len);
        if count == 0 || count > most {
            missing.push(format!("{count} {field} (1 to {most})"));
        }
    }
    if !has_crate_example(package)? {
        missing.push("no example (```) in the crate-level docs".into());
    }
    Ok(missing
        .into_iter()
        .map(|problem| format!("{}: {problem}", package.name))
        .collect())
}

/// Whether the `//!` docs at the top of the library hold a code block
/// (doctests then compile and run it).
fn has_crate_example(package: &Package) -> Result<bool> {
    let targets = package.manifest["targets"].as_array().context("targets")?;
    let Some(lib) = targets.iter().find(|t| t["kind"][0] == "lib") else {
        return Ok(true);
    };
    let source = fs_err::read_to_string(lib["src_path"].as_str().context("src_path")?)?;
    Ok(source
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .any(|line| {
            line.trim_start_matches("//!")
                .trim_start()
                .starts_with("```")
        }))
}

/// The crates whose normal dependencies reach [`NEEDS_NEWER_RUST`],
/// directly or through other workspace crates.
fn needing_newer_rust(packages: &[Package]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    loop {
        let before = found.len();
        for package in packages {
            let deps = package.manifest["dependencies"].as_array();
            let reaches = deps.into_iter().flatten().any(|dep| {
                let name = dep["name"].as_str().unwrap_or_default();
                dep["kind"] != "dev" && (name.starts_with(NEEDS_NEWER_RUST) || found.contains(name))
            });
            if reaches {
                found.insert(package.name.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// `cargo package` of `names` together, verified or not. `--allow-dirty`:
/// the check is about what the packages hold, and a developer runs it
/// with uncommitted work.
fn cargo_package(names: &[&str], verify: bool) -> Result<()> {
    let mut command = Command::new(cargo_binary());
    command.args(["package", "--allow-dirty"]);
    if !verify {
        command.arg("--no-verify");
    }
    for name in names {
        command.args(["--package", name]);
    }
    let status = command
        .current_dir(compileall_tests::workspace_root())
        .status()
        .context("running cargo package")?;
    if !status.success() {
        bail!("cargo package of {names:?} failed");
    }
    Ok(())
}

fn cargo_binary() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
