//! The personas a run mixes (browse, signup, book, hot-seat, cancel, visit, health), their weights, and
//! the draw of one per arrival. What each persona does is in `scenarios`.

use rand::Rng;

/// A kind of user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    Browse,
    Signup,
    Book,
    HotSeat,
    Cancel,
    /// A signed-in person: browses, reads its profile and books, thinking between steps.
    Visit,
    Health,
}

impl Persona {
    /// How many think times one iteration of the persona spans (visit thinks between each of
    /// its four steps; the others once after each iteration).
    pub fn thinks_per_iteration(self) -> u32 {
        match self {
            Persona::Visit => 4,
            _ => 1,
        }
    }

    pub const ALL: [Persona; 7] = [
        Persona::Browse,
        Persona::Signup,
        Persona::Book,
        Persona::HotSeat,
        Persona::Cancel,
        Persona::Visit,
        Persona::Health,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Persona::Browse => "browse",
            Persona::Signup => "signup",
            Persona::Book => "book",
            Persona::HotSeat => "hot-seat",
            Persona::Cancel => "cancel",
            Persona::Visit => "visit",
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
}

impl std::str::FromStr for Persona {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Persona::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown scenario {s:?}: use browse, signup, book, hot-seat, cancel, visit or health"
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
