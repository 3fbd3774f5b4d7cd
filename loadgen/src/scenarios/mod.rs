//! The personas: one goose scenario each, usable alone or weighted together.
//!
//! | persona   | what a user does                                                     |
//! |-----------|----------------------------------------------------------------------|
//! | browse    | GET /api/events, GET /api/events/:id, GET the seat map               |
//! | signup    | POST /api/users/register, POST /api/users/login, GET /api/users/me   |
//! | book      | choose seats (--strategy), book, poll until the saga ends            |
//! | hot-seat  | book among the first --hot-seats seats, which everyone wants         |
//! | cancel    | book, and cancel once CONFIRMED                                      |
//! | health    | GET /health only: measures the generator itself (needs no data)      |
//!
//! With `--rate`, the booking personas (book, hot-seat, cancel) run as open-model arrivals, one
//! persona drawn by weight per arrival; with `--users`, every persona also runs as closed-model
//! goose users that loop until the load window ends.

mod browse;
mod signup;

use std::time::Instant;

use goose::prelude::*;
use rand::Rng;

use crate::context::Ctx;

/// A kind of user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    Browse,
    Signup,
    Book,
    HotSeat,
    Cancel,
    Health,
}

impl Persona {
    pub const ALL: [Persona; 6] = [
        Persona::Browse,
        Persona::Signup,
        Persona::Book,
        Persona::HotSeat,
        Persona::Cancel,
        Persona::Health,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Persona::Browse => "browse",
            Persona::Signup => "signup",
            Persona::Book => "book",
            Persona::HotSeat => "hot-seat",
            Persona::Cancel => "cancel",
            Persona::Health => "health",
        }
    }

    /// Whether this persona books (and so can run as open-model arrivals).
    pub fn books(self) -> bool {
        matches!(self, Persona::Book | Persona::HotSeat | Persona::Cancel)
    }

    /// Whether this persona needs the target's event, seats and users.
    pub fn needs_data(self) -> bool {
        self != Persona::Health
    }

    /// Draws a persona by weight; `Book` when the list is empty.
    pub fn pick(weighted: &[(Persona, u32)], rng: &mut impl Rng) -> Persona {
        let total: u32 = weighted.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Persona::Book;
        }
        let mut n = rng.gen_range(0..total);
        for (p, w) in weighted {
            if n < *w {
                return *p;
            }
            n -= w;
        }
        Persona::Book
    }

    /// One iteration of the persona as a closed-model user.
    ///
    /// # Errors
    /// Only goose's own.
    pub async fn iterate(self, user: &mut GooseUser, ctx: &Ctx) -> TransactionResult {
        match self {
            Persona::Browse => browse::iterate(user, ctx).await,
            Persona::Signup => signup::iterate(user, ctx).await,
            Persona::Health => {
                crate::common::send(
                    user,
                    ctx,
                    crate::common::Call::get("/health", "/health", ctx.ops.request_timeout),
                )
                .await?;
                Ok(())
            }
            booking => {
                let process = ctx.next_process();
                crate::flow::book(user, ctx, process, Instant::now(), false, booking).await
            }
        }
    }
}

impl std::str::FromStr for Persona {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Persona::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown scenario {s:?}: use browse, signup, book, hot-seat, cancel or health"
                )
            })
    }
}

/// Parses `browse=3,book=1` (a bare name weighs 1).
///
/// # Errors
/// Unknown names, bad or zero weights, repeats.
pub fn parse_weights(text: &str) -> Result<Vec<(Persona, u32)>, String> {
    let mut out: Vec<(Persona, u32)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = match part.split_once('=') {
            Some((n, w)) => (
                n.trim(),
                w.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("bad weight in {part:?}: use name=N"))?,
            ),
            None => (part, 1),
        };
        let persona: Persona = name.parse()?;
        if weight == 0 {
            return Err(format!(
                "weight of {name} must be at least 1 (leave it out instead)"
            ));
        }
        if out.iter().any(|(p, _)| *p == persona) {
            return Err(format!("scenario {name} given twice"));
        }
        out.push((persona, weight));
    }
    if out.is_empty() {
        return Err("no scenario given".into());
    }
    Ok(out)
}

/// A closed-model session: loop the persona until the load window closes.
///
/// # Errors
/// Only goose's own.
pub async fn closed_session(
    user: &mut GooseUser,
    ctx: &Ctx,
    persona: Persona,
) -> TransactionResult {
    ctx.arrive().await;
    while !ctx.gate.is_closed() {
        persona.iterate(user, ctx).await?;
        if !ctx.ops.think.is_zero() {
            tokio::time::sleep(ctx.ops.think).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_bad_ones_say_why() {
        assert_eq!(
            parse_weights("browse=3,book").unwrap(),
            vec![(Persona::Browse, 3), (Persona::Book, 1)]
        );
        assert!(parse_weights("browse=0")
            .unwrap_err()
            .contains("at least 1"));
        assert!(parse_weights("shop=1")
            .unwrap_err()
            .contains("unknown scenario"));
        assert!(parse_weights("book,book").unwrap_err().contains("twice"));
        assert!(parse_weights("book=x").unwrap_err().contains("bad weight"));
    }

    #[test]
    fn pick_follows_the_weights() {
        let mut rng = rand::thread_rng();
        let weighted = [(Persona::Book, 3), (Persona::Cancel, 1)];
        let cancels = (0..4000)
            .filter(|_| Persona::pick(&weighted, &mut rng) == Persona::Cancel)
            .count();
        assert!((800..1200).contains(&cancels), "{cancels}");
    }
}
