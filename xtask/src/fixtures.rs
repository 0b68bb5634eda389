//! `cargo xtask fixtures`: asks the real interpreters and records their
//! answers under `tests/fixtures/`.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use compileall_tests::foundation::{self, Fixture};
use compileall_tests::pythons::{self, Python};

/// Records the fixtures of every supported version (or only `versions`).
pub fn run(versions: &[String]) -> Result<()> {
    let installed = pythons::installed();
    let wanted: Vec<&str> = if versions.is_empty() {
        pythons::SUPPORTED.to_vec()
    } else {
        versions.iter().map(String::as_str).collect()
    };
    for version in wanted {
        let Some(python) = installed.iter().find(|p| p.version == version) else {
            bail!("CPython {version} is not provisioned; run `cargo xtask pythons` first");
        };
        record(python)?;
    }
    Ok(())
}

fn record(python: &Python) -> Result<()> {
    let fixture = foundation::record(python).map_err(anyhow::Error::msg)?;
    let path = foundation::fixture_path(&python.version);
    write_fixture(&path, &fixture)?;
    let cases: usize = fixture.runs.iter().map(|r| r.cases.len()).sum();
    println!(
        "{:<8} foundation: {cases} answers -> {}",
        python.full_version,
        path.display()
    );
    let scenarios = compileall_tests::scenarios::regenerate(python)?;
    println!(
        "{:<8} scenarios:  {scenarios} runs -> {}",
        python.full_version,
        compileall_tests::scenarios::fixture_path(&python.version).display()
    );
    Ok(())
}

/// One case per line, so that a change of CPython's answers reads as a
/// small diff.
fn write_fixture(path: &Path, fixture: &Fixture) -> Result<()> {
    let mut out = Vec::new();
    writeln!(out, "{{")?;
    writeln!(
        out,
        "  \"version\": {},",
        serde_json::to_string(&fixture.version)?
    )?;
    writeln!(
        out,
        "  \"full_version\": {},",
        serde_json::to_string(&fixture.full_version)?
    )?;
    writeln!(out, "  \"runs\": [")?;
    for (i, run) in fixture.runs.iter().enumerate() {
        writeln!(out, "    {{")?;
        writeln!(
            out,
            "      \"flags\": {},",
            serde_json::to_string(&run.flags)?
        )?;
        writeln!(out, "      \"cases\": [")?;
        for (j, case) in run.cases.iter().enumerate() {
            let comma = if j + 1 < run.cases.len() { "," } else { "" };
            writeln!(out, "        {}{comma}", serde_json::to_string(case)?)?;
        }
        writeln!(out, "      ]")?;
        let comma = if i + 1 < fixture.runs.len() { "," } else { "" };
        writeln!(out, "    }}{comma}")?;
    }
    writeln!(out, "  ]")?;
    writeln!(out, "}}")?;
    fs_err::create_dir_all(path.parent().expect("fixture paths have a parent"))?;
    let temp = path.with_extension("json.tmp");
    fs_err::write(&temp, &out)?;
    fs_err::rename(&temp, path)?;
    Ok(())
}
