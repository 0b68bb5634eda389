//! Reads each pyc named on the command line, writes its body back, and
//! reports the files whose bytes differ (with the first differing offset).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut same = 0;
    let mut differ = 0;
    for path in std::env::args().skip(1) {
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(err) => {
                eprintln!("{path}: {err}");
                continue;
            }
        };
        let body = &data[16.min(data.len())..];
        match pymarshal::read(body) {
            Ok(obj) => {
                let again = pymarshal::write(&obj);
                if again == body {
                    same += 1;
                } else {
                    differ += 1;
                    let at = again
                        .iter()
                        .zip(body)
                        .position(|(a, b)| a != b)
                        .unwrap_or(again.len().min(body.len()));
                    println!(
                        "DIFFER {path} at {at}: ours {:?} theirs {:?}",
                        &again[at.saturating_sub(8)..(at + 24).min(again.len())],
                        &body[at.saturating_sub(8)..(at + 24).min(body.len())]
                    );
                }
            }
            Err(err) => {
                differ += 1;
                println!("READ ERROR {path}: {err}");
            }
        }
    }
    println!("{same} identical, {differ} different");
    if differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
