//! How the harness's commands end, as a process status: one convention for `loadgen`, every
//! `chaos` subcommand, `faultproxy` and `reports`, documented in each README.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | pass: the thresholds and invariants hold (or the command did its job) |
//! | 1 | failed: a threshold failed or an invariant was violated |
//! | 2 | bad input: a flag, file or scenario cannot be used; nothing was started |
//! | 3 | broken: the stack or the infrastructure failed, or a verdict could not be decided |

use crate::run_report::Ending;
use crate::verdict::Validity;

/// A command's outcome as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Pass = 0,
    Failed = 1,
    BadInput = 2,
    Broken = 3,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit of a code written by this convention (anything unknown counts as broken).
    pub fn from_code(code: i32) -> Exit {
        match code {
            0 => Exit::Pass,
            1 => Exit::Failed,
            2 => Exit::BadInput,
            _ => Exit::Broken,
        }
    }

    /// The graver of two, for a command that runs several things (`chaos suite`): a failure
    /// (a correctness or threshold finding) over a broken run over bad input over a pass.
    #[must_use]
    pub fn graver(self, other: Exit) -> Exit {
        let gravity = |e: Exit| match e {
            Exit::Failed => 3,
            Exit::Broken => 2,
            Exit::BadInput => 1,
            Exit::Pass => 0,
        };
        if gravity(other) > gravity(self) {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

impl From<Ending> for Exit {
    /// A violated invariant and a failed threshold both fail; an undecided invariant is a run that
    /// could not observe what it needed, like a broken stack.
    fn from(ending: Ending) -> Exit {
        match ending {
            Ending::Passed => Exit::Pass,
            Ending::ThresholdFailed | Ending::InvariantViolated => Exit::Failed,
            Ending::InvariantUnknown | Ending::StackBroken => Exit::Broken,
        }
    }
}

impl From<Validity> for Exit {
    /// `chaos check`: valid, invalid, or unknown (something could not be decided).
    fn from(validity: Validity) -> Exit {
        match validity {
            Validity::True => Exit::Pass,
            Validity::False => Exit::Failed,
            Validity::Unknown => Exit::Broken,
        }
    }
}

/// Parses the process's arguments by the convention: `--help` and `--version` print and pass;
/// no subcommand prints the help as bad input; anything else wrong is one line on stderr, `program: what is wrong` (clap's first paragraph,
/// so a missing argument's name is in it), and bad input. The caller exits with the [`Exit`].
///
/// # Errors
/// The exit to end the process with when the arguments are not a command to run.
pub fn parse_args<P: clap::Parser>(program: &str) -> Result<P, Exit> {
    P::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            let _ = e.print();
            return Exit::Pass;
        }
        if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            // No subcommand at all: the help is the message (on stderr, as bad input).
            let _ = e.print();
            return Exit::BadInput;
        }
        eprintln!("{program}: {}", usage_line(&e.to_string()));
        Exit::BadInput
    })
}

/// The first paragraph of clap's message on one line, without its `error: `.
fn usage_line(rendered: &str) -> String {
    let what: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    what.join(" ").trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_graver_than_a_broken_run_and_both_than_a_pass() {
        assert_eq!(Exit::Pass.graver(Exit::Broken), Exit::Broken);
        assert_eq!(Exit::Broken.graver(Exit::Failed), Exit::Failed);
        assert_eq!(Exit::Failed.graver(Exit::Broken), Exit::Failed);
        assert_eq!(Exit::Pass.graver(Exit::Pass), Exit::Pass);
        for e in [Exit::Pass, Exit::Failed, Exit::BadInput, Exit::Broken] {
            assert_eq!(Exit::from_code(i32::from(e.code())), e);
        }
    }

    #[test]
    fn endings_map_to_the_four_codes() {
        assert_eq!(Exit::from(Ending::InvariantViolated).code(), 1);
        assert_eq!(Exit::from(Ending::ThresholdFailed).code(), 1);
        assert_eq!(Exit::from(Ending::InvariantUnknown).code(), 3);
        assert_eq!(Exit::from(Ending::StackBroken).code(), 3);
        assert_eq!(Exit::from(Ending::Passed).code(), 0);
    }

    #[test]
    fn a_usage_error_is_one_line_naming_what_is_missing() {
        let rendered = "error: the following required arguments were not provided:\n  --out <FILE>\n\nUsage: chaos collect --out <FILE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_line(rendered),
            "the following required arguments were not provided: --out <FILE>"
        );
    }
}
