//! Invariant 7: nothing the saga was given is left parked. A message a consumer gave up on sits
//! on its dead-letter topic, and whatever it should have done (lock, confirm, refund, tell the
//! user) has not happened; a run that ends with such a letter is not a pass until someone has
//! explained it (and replayed it: `stack dlt replay`). Dead letters not observed
//! (`FinalState::dead_letters` = None, e.g. a target whose broker the runner cannot read): True,
//! with a note, so the other invariants still decide.
//!
//! | key | |
//! |---|---|
//! | `parked_dead_letters` | anomaly: letters on a dead-letter topic not replayed, other than the harness's own poison |
//! | `dropped_dead_letters` | anomaly: poison the harness injected ([`Opts::injected_letters`]) that is on no dead-letter topic: a consumer dropped it |
//! | `replayed_dead_letters` | letters replayed since (when observed) |
//! | `injected_dead_letters` | parked letters that are the harness's injected poison: explained |

use uuid::Uuid;

use super::{History, Opts};
use crate::verdict::Findings;
use runfiles::final_state::FinalState;
use runfiles::verdict::{Example, InvariantVerdict};

/// Checks invariant 7.
pub fn check(_history: &History, state: &FinalState, opts: &Opts) -> InvariantVerdict {
    let mut findings = Findings::new(
        opts.max_examples,
        &["parked_dead_letters", "dropped_dead_letters"],
    );
    let Some(letters) = &state.dead_letters else {
        findings.note("dead letters were not observed");
        return findings.finish(false);
    };
    let injected = |letter: &runfiles::final_state::DeadLetterRow| {
        opts.injected_letters.iter().any(|i| {
            i.topic == letter.original_topic && letter.key.as_deref() == Some(i.key.as_str())
        })
    };
    for poison in &opts.injected_letters {
        let parked = letters
            .iter()
            .any(|l| l.original_topic == poison.topic && l.key.as_deref() == Some(&poison.key));
        if !parked {
            findings.anomaly(
                "dropped_dead_letters",
                Example::new(format!(
                    "the poison message injected on {} (key {}) is on no dead-letter topic: a consumer dropped it",
                    poison.topic, poison.key
                )),
            );
        }
    }
    let (mut replayed, mut explained) = (0, 0);
    for letter in letters {
        if injected(letter) {
            explained += 1;
            continue;
        }
        if letter.replayed {
            replayed += 1;
            continue;
        }
        let mut example = Example::new(format!(
            "{} (from {}, message {}, key {}) parked by {}: {}",
            letter.at,
            letter.original_topic,
            letter.message_id.as_deref().unwrap_or("-"),
            letter.key.as_deref().unwrap_or("-"),
            letter.consumer_group,
            letter.error
        ));
        // The saga's messages are keyed by booking id.
        if let Some(booking) = letter.key.as_deref().and_then(|k| Uuid::parse_str(k).ok()) {
            example = example.bookings([booking]);
        }
        findings.anomaly("parked_dead_letters", example);
    }
    findings.count("replayed_dead_letters", replayed);
    findings.count("injected_dead_letters", explained);
    findings.finish(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runfiles::final_state::DeadLetterRow;
    use runfiles::verdict::Validity;

    fn letter(replayed: bool) -> DeadLetterRow {
        DeadLetterRow {
            at: "c1.ticketflow.seats.locked.DLT:0:7".into(),
            original_topic: "c1.ticketflow.seats.locked".into(),
            consumer_group: "c1.booking-service".into(),
            error: "relation \"bookings\" does not exist".into(),
            key: Some(Uuid::from_u128(10).to_string()),
            message_id: Some(Uuid::from_u128(99).to_string()),
            replayed,
        }
    }

    fn state(letters: Option<Vec<DeadLetterRow>>) -> FinalState {
        FinalState {
            dead_letters: letters,
            ..FinalState::default()
        }
    }

    #[test]
    fn a_parked_letter_is_invalid_and_names_its_booking_topic_and_reason() {
        let verdict = check(
            &History::default(),
            &state(Some(vec![letter(false), letter(true)])),
            &Opts::default(),
        );
        assert_eq!(verdict.valid, Validity::False);
        assert_eq!(verdict.counts["parked_dead_letters"], 1);
        assert_eq!(verdict.counts["replayed_dead_letters"], 1);
        let example = &verdict.examples[0];
        assert_eq!(example.booking_ids, [Uuid::from_u128(10)]);
        assert!(
            example.message.contains("seats.locked.DLT:0:7"),
            "{example:?}"
        );
        assert!(example.message.contains("does not exist"), "{example:?}");
    }

    #[test]
    fn only_replayed_letters_or_none_are_valid() {
        for letters in [vec![], vec![letter(true)]] {
            let verdict = check(&History::default(), &state(Some(letters)), &Opts::default());
            assert_eq!(verdict.valid, Validity::True);
        }
    }

    #[test]
    fn letters_not_observed_leave_the_decision_to_the_other_invariants() {
        let verdict = check(&History::default(), &state(None), &Opts::default());
        assert_eq!(verdict.valid, Validity::True);
        assert_eq!(verdict.notes, ["dead letters were not observed"]);
    }

    #[test]
    fn injected_poison_parked_is_explained_and_dropped_poison_is_an_anomaly() {
        let poison = letter(false);
        let opts = Opts {
            injected_letters: vec![crate::InjectedLetter {
                topic: poison.original_topic.clone(),
                key: poison.key.clone().unwrap(),
            }],
            ..Opts::default()
        };
        let parked = check(&History::default(), &state(Some(vec![poison])), &opts);
        assert_eq!(parked.valid, Validity::True, "{parked:?}");
        assert_eq!(parked.counts["injected_dead_letters"], 1);
        assert_eq!(parked.counts["parked_dead_letters"], 0);

        let dropped = check(&History::default(), &state(Some(vec![])), &opts);
        assert_eq!(dropped.valid, Validity::False, "{dropped:?}");
        assert_eq!(dropped.counts["dropped_dead_letters"], 1);
        let example = &dropped.examples[0];
        assert_eq!(example.anomaly, "dropped_dead_letters");
        assert!(
            example.message.contains("c1.ticketflow.seats.locked")
                && example.message.contains(&Uuid::from_u128(10).to_string()),
            "{example:?}"
        );
    }
}
