//! The help we print is ours: kept as snapshots, reviewed like code (at
//! the width `--help` uses when the terminal is wide or not a terminal).

use clap::CommandFactory;

use super::*;

/// What `compileall ARGV...` prints for `--help` or `-h`.
fn help(argv: &[&str]) -> String {
    let err = Cli::command()
        .term_width(100)
        .try_get_matches_from(argv)
        .unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
    err.render().to_string()
}

#[test]
fn long_help() {
    insta::assert_snapshot!(help(&["compileall", "--help"]));
}

#[test]
fn short_help() {
    insta::assert_snapshot!(help(&["compileall", "-h"]));
}

#[test]
fn inspect_help() {
    insta::assert_snapshot!(help(&["compileall", "inspect", "--help"]));
}

/// The user's help holds no developer documentation.
#[test]
fn help_is_written_for_users() {
    let help = help(&["compileall", "--help"]);
    assert!(!help.contains("```"), "{help}");
    assert!(!help.contains("assert"), "{help}");
}

/// A refused command line still carries our own settings, which every
/// target's run reports.
#[test]
fn a_refusal_keeps_our_settings() {
    let argv = [
        "compileall",
        "--report",
        "json",
        "--python",
        "py3",
        "-d",
        "/srv",
        "-s",
        "/build",
        "--worker-timeout",
        "0",
        "-x",
        "(",
        "src",
    ];
    let invocation = Cli::try_parse_argparse_from(argv)
        .unwrap()
        .args
        .into_invocation();
    assert!(matches!(invocation.compileall, Err(UsageError::Pattern(_))));
    assert_eq!(invocation.pythons, [PathBuf::from("py3")]);
    assert_eq!(invocation.pattern.as_deref(), Some("("));
    assert_eq!(invocation.worker_timeout, None);
    assert_eq!(
        invocation.report,
        Some(ReportRequest {
            format: ReportFormat::Json,
            to: ReportTo::Stdout
        })
    );
}

/// `--worker-timeout` refusals come after compileall's own, and a value
/// too large for a `Duration` is no limit rather than a crash.
#[test]
fn worker_timeouts() {
    let invocation = |timeout: &str| {
        let option = format!("--worker-timeout={timeout}");
        Cli::try_parse_argparse_from(["compileall", &option, "src"])
            .unwrap()
            .args
            .into_invocation()
    };
    for refused in ["0", "-1", "inf", "nan"] {
        let invocation = invocation(refused);
        let Err(UsageError::Usage(message)) = invocation.compileall else {
            panic!("{refused} accepted");
        };
        assert_eq!(
            message,
            "argument --worker-timeout: must be a positive number of seconds"
        );
        assert_eq!(invocation.worker_timeout, None);
    }
    assert_eq!(
        invocation("1e-9").worker_timeout,
        Some(Duration::from_millis(1))
    );
    assert_eq!(invocation("1e300").worker_timeout, Some(Duration::MAX));
    assert_eq!(
        invocation("2.5").worker_timeout,
        Some(Duration::from_millis(2500))
    );
}
