//! Whole `compileall` runs against real CPython: every scenario of
//! `compileall_tests::scenarios` through our binary, compared with the
//! record of each CPython release line (`fixtures/scenarios/`) and, when the
//! interpreter is provisioned, with CPython run live. Every differing
//! scenario is reported, field by field.

use std::path::Path;

use compileall_tests::pythons::{self, Python};
use compileall_tests::scenarios::{self, Fixture, PycAgreement, Record, Scenario, Tool};

/// Scenarios replayed at once per release line (the four release lines'
/// tests also run side by side).
const THREADS: usize = 2;

#[test]
fn fixtures_hold_every_scenario_as_defined() {
    let current = scenarios::all();
    let mut problems = Vec::new();
    for version in pythons::SUPPORTED {
        let Some(fixture) = scenarios::load_fixture(version) else {
            problems.push(format!(
                "{version}: no {} (run `cargo xtask fixtures`)",
                scenarios::fixture_path(version).display()
            ));
            continue;
        };
        assert_eq!(fixture.version, version);
        let recorded: Vec<&str> = fixture
            .scenarios
            .iter()
            .map(|r| r.scenario.name.as_str())
            .collect();
        let defined: Vec<&str> = current.iter().map(|s| s.name.as_str()).collect();
        if recorded != defined {
            problems.push(format!(
                "{version}: recorded scenarios {recorded:?}\n  defined {defined:?}"
            ));
        }
        for scenario in &current {
            if let Some(recorded) = fixture.get(&scenario.name)
                && recorded.scenario != *scenario
            {
                problems.push(format!(
                    "{version}: scenario {} changed since it was recorded",
                    scenario.name
                ));
            }
        }
        for recorded in &fixture.scenarios {
            if let Err(problem) = scenarios::check_definition(&recorded.scenario, &recorded.record)
            {
                problems.push(format!("{version}: {problem}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "scenario fixtures are out of date; run `cargo xtask fixtures`:\n{}",
        problems.join("\n")
    );
}

/// Which of our backends a replay runs: the default choice for the
/// version, or one named with `--backend`.
#[derive(Clone, Copy)]
enum Ours {
    Default,
    Backend(&'static str),
}

impl Ours {
    fn tool<'a>(self, binary: &'a Path) -> Tool<'a> {
        match self {
            Ours::Default => Tool::Ours(binary),
            Ours::Backend(backend) => Tool::OursWith { binary, backend },
        }
    }

    /// The native backend's pycs are compared as code objects.
    fn agreement(self, python: &Python) -> PycAgreement {
        match self {
            Ours::Backend("native") => PycAgreement::CodeObjects,
            Ours::Default if python.version == "3.14" => PycAgreement::CodeObjects,
            _ => PycAgreement::Bytes,
        }
    }
}

/// Our binary against the recorded and the live CPython of `version`.
fn replay(version: &str, ours: Ours) {
    let Some(python) = pythons::require(version, "scenario replay") else {
        return;
    };
    let binary = scenarios::binary();
    let fixture = scenarios::load_fixture(version)
        .unwrap_or_else(|| panic!("no scenario fixture for {version}: run `cargo xtask fixtures`"));
    if fixture.full_version != python.full_version {
        compileall_tests::loud(&format!(
            "NOTE: scenarios for {version} were recorded with CPython {}, the live \
             interpreter is {}; both are compared",
            fixture.full_version, python.full_version
        ));
    }
    let all = scenarios::all();
    let reports = scenarios::parallel_map(&all, THREADS, |scenario| {
        check(
            scenario,
            &python,
            &fixture,
            ours.tool(&binary),
            ours.agreement(&python),
        )
    });
    let failures: Vec<String> = reports.into_iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ under CPython {} (our binary: {}):\n\n{}",
        failures.len(),
        all.len(),
        python.full_version,
        binary.display(),
        failures.join("\n\n")
    );
}

/// Every difference of one scenario, or `None`.
fn check(
    scenario: &Scenario,
    python: &Python,
    fixture: &Fixture,
    tool: Tool<'_>,
    pycs: PycAgreement,
) -> Option<String> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    // Ours in the order it printed; sorted to compare with CPython when
    // CPython's order is not fixed.
    let in_order = Scenario {
        unordered: false,
        ..scenario.clone()
    };
    let ours_raw = scenarios::execute(python, &in_order, tool);
    let ours = if scenario.unordered {
        ours_raw.with_sorted_output()
    } else {
        ours_raw.clone()
    };
    let recorded: Option<&Record> = match fixture.get(&scenario.name) {
        Some(r) if r.scenario == *scenario => Some(&r.record),
        Some(_) => {
            sections.push((
                "record".into(),
                vec![
                    "the scenario changed since it was recorded: run `cargo xtask fixtures`".into(),
                ],
            ));
            None
        }
        None => {
            sections.push((
                "record".into(),
                vec!["not recorded: run `cargo xtask fixtures`".into()],
            ));
            None
        }
    };
    if let Some(recorded) = recorded {
        sections.push((
            format!("vs recorded CPython {}", fixture.full_version),
            scenarios::differences(scenario, recorded, &ours, pycs),
        ));
    }
    let live = scenarios::record(python, scenario);
    sections.push((
        format!("vs live CPython {}", python.full_version),
        scenarios::differences(scenario, &live, &ours, pycs),
    ));
    if let Some(recorded) = recorded
        && fixture.full_version == python.full_version
    {
        // Same release: the record must be reproducible, or the harness is
        // comparing noise.
        sections.push((
            "live CPython vs its own record (same release; not reproducible?)".into(),
            scenarios::differences(scenario, recorded, &live, PycAgreement::Bytes),
        ));
    }
    if scenario.unordered {
        let one = scenarios::execute(python, &scenario.with_one_worker(), tool);
        sections.push((
            "ours with several workers vs ours with -j 1 (must be identical)".into(),
            scenarios::differences(&in_order, &one, &ours_raw, pycs),
        ));
    }
    sections.retain(|(_, problems)| !problems.is_empty());
    if sections.is_empty() {
        return None;
    }
    let args: Vec<String> = scenario.args.iter().map(|a| format!("{a:?}")).collect();
    let mut report = format!(
        "=== scenario {} [{}]: compileall {}",
        scenario.name,
        scenario.group,
        args.join(" ")
    );
    for (title, problems) in sections {
        report.push_str(&format!("\n  {title}:"));
        for problem in problems {
            for (i, line) in problem.lines().enumerate() {
                report.push_str(if i == 0 { "\n    * " } else { "\n      " });
                report.push_str(line);
            }
        }
    }
    Some(report)
}

#[test]
fn replay_cpython_3_11() {
    replay("3.11", Ours::Default);
}

#[test]
fn replay_cpython_3_13() {
    replay("3.13", Ours::Default);
}

/// 3.14 with the native backend (which `auto` also picks for 3.14).
#[test]
fn replay_cpython_3_14_native() {
    replay("3.14", Ours::Backend("native"));
}

/// 3.14 with the CPython workers.
#[test]
fn replay_cpython_3_14_workers() {
    replay("3.14", Ours::Backend("cpython"));
}

#[test]
fn replay_cpython_3_15() {
    replay("3.15", Ours::Default);
}
