//! Whole `compileall` runs against real CPython: every scenario of
//! `compileall_tests::scenarios` through our binary, compared with the
//! record from CPython (`fixtures/scenarios/`) and with CPython live.

use compileall_tests::pythons::{self, Python};
use compileall_tests::scenarios::{self, Scenario, Tool};

#[test]
fn every_version_has_current_records() {
    for version in pythons::SUPPORTED {
        let fixture = scenarios::load_fixture(version).unwrap_or_else(|| {
            panic!("no scenario fixture for {version}: run `cargo xtask fixtures`")
        });
        let tag = format!("cpython-{}", version.replace('.', ""));
        let current = scenarios::all(&tag);
        let recorded: Vec<(&str, &str)> = fixture
            .records
            .iter()
            .map(|r| (r.name.as_str(), r.signature.as_str()))
            .collect();
        let expected: Vec<(String, String)> = current
            .iter()
            .map(|s| (s.name.clone(), s.signature()))
            .collect();
        let expected: Vec<(&str, &str)> = expected
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_str()))
            .collect();
        assert_eq!(
            recorded, expected,
            "{version}: scenarios changed; run `cargo xtask fixtures`"
        );
    }
}

/// Our binary against the recorded and the live CPython, scenario by
/// scenario; every difference of every scenario is reported.
fn replay(version: &str) {
    let Some(python) = pythons::require(version, "scenario replay") else {
        return;
    };
    let fixture = scenarios::load_fixture(version).expect("fixture");
    if fixture.full_version != python.full_version {
        compileall_tests::loud(&format!(
            "NOTE: scenarios for {version} were recorded with {}, the live interpreter is {}",
            fixture.full_version, python.full_version
        ));
    }
    let all = scenarios::all(&python.cache_tag);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<&[Scenario]> = all.chunks(all.len().div_ceil(2)).collect();
        let handles: Vec<_> = halves
            .into_iter()
            .map(|half| {
                let (python, fixture) = (&python, &fixture);
                scope.spawn(move || {
                    half.iter()
                        .filter_map(|scenario| check(scenario, python, fixture))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ under CPython {}:\n\n{}",
        failures.len(),
        all.len(),
        python.full_version,
        failures.join("\n\n")
    );
}

fn check(scenario: &Scenario, python: &Python, fixture: &scenarios::Fixture) -> Option<String> {
    let ours = scenarios::record_with(scenario, python, Tool::Ours);
    let mut problems = Vec::new();
    match fixture.records.iter().find(|r| r.name == scenario.name) {
        Some(recorded) => {
            for difference in recorded.differences(&ours, scenario.ordered) {
                problems.push(format!(
                    "  vs recorded {}: {difference}",
                    fixture.full_version
                ));
            }
        }
        None => problems.push("  no record".to_owned()),
    }
    let live = scenarios::record_with(scenario, python, Tool::Cpython);
    for difference in live.differences(&ours, scenario.ordered) {
        problems.push(format!("  vs live {}: {difference}", python.full_version));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{} ({:?}):\n{}",
            scenario.name,
            scenario.args,
            problems.join("\n")
        )
    })
}

#[test]
fn replay_cpython_3_11() {
    replay("3.11");
}

#[test]
fn replay_cpython_3_13() {
    replay("3.13");
}

#[test]
fn replay_cpython_3_14() {
    replay("3.14");
}

#[test]
fn replay_cpython_3_15() {
    replay("3.15");
}
