//! Which seats an operation asks for: random available, best available in a section, or a
//! hot spot that many users fight over.
//!
//! The pool starts from the event's seat map. Random and best-available take seats out of the
//! pool so two of our own operations do not ask for the same seat by accident (that is what
//! hot-spot is for) and put them back when the booking did not end CONFIRMED.

use std::collections::BTreeSet;
use std::sync::Mutex;

use rand::seq::SliceRandom;
use rand::Rng;
use serde::Deserialize;
use uuid::Uuid;

/// A seat as the seat map lists it (contract: `{id, seatNumber, row, section, status}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seat {
    pub id: Uuid,
    #[serde(default)]
    pub section: String,
    #[serde(default)]
    pub row: String,
    #[serde(default)]
    pub seat_number: String,
    #[serde(default)]
    pub status: String,
}

/// How seats are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Any available seats, at random.
    Random,
    /// The first available seats in layout order, optionally within one section.
    BestAvailable { section: Option<String> },
    /// Seats from the first `seats` of the layout, chosen at random and never taken out of the
    /// pool: the flash-sale fight over the front rows.
    HotSpot { seats: usize },
}

impl std::str::FromStr for Strategy {
    type Err = String;

    /// `random`, `best`, `best:VIP`, `hot`, `hot:20`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        match (name, arg) {
            ("random", None) => Ok(Strategy::Random),
            ("best", section) => Ok(Strategy::BestAvailable {
                section: section.map(str::to_string),
            }),
            ("hot", None) => Ok(Strategy::HotSpot { seats: 10 }),
            ("hot", Some(n)) => match n.parse() {
                Ok(seats) if seats > 0 => Ok(Strategy::HotSpot { seats }),
                _ => Err(format!(
                    "bad seat strategy {s:?}: hot:N takes a positive number of seats"
                )),
            },
            _ => Err(format!(
                "bad seat strategy {s:?}: use random, best, best:<SECTION>, hot or hot:<N>"
            )),
        }
    }
}

/// The seats left to ask for.
pub struct SeatPool {
    /// Layout order (the seat map's order).
    layout: Vec<Seat>,
    /// Indexes into `layout` not taken by an operation of ours.
    free: Mutex<BTreeSet<usize>>,
}

impl SeatPool {
    /// A pool of the seats the map lists as AVAILABLE (or without a status).
    pub fn new(seats: Vec<Seat>) -> Self {
        let free = seats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.status.is_empty() || s.status == "AVAILABLE")
            .map(|(i, _)| i)
            .collect();
        Self {
            layout: seats,
            free: Mutex::new(free),
        }
    }

    /// Keeps only the seats i with i % count == index in the pool (random and best-available),
    /// so generators sharing an event never ask for each other's seats. Hot spots stay shared:
    /// the fight over them is the point.
    pub fn slice(&self, index: usize, count: usize) {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|i| i % count == index);
    }

    /// Seats in the map.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// Seats still free in the pool.
    pub fn available(&self) -> usize {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Chooses `k` seats; `None` when the pool cannot give `k` (sold out, for us).
    pub fn take(&self, strategy: &Strategy, k: usize, rng: &mut impl Rng) -> Option<Vec<Uuid>> {
        match strategy {
            Strategy::HotSpot { seats } => {
                let hot = (*seats).min(self.layout.len());
                if hot < k {
                    return None;
                }
                let picked = rand::seq::index::sample(rng, hot, k);
                Some(picked.into_iter().map(|i| self.layout[i].id).collect())
            }
            Strategy::Random => {
                let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
                if free.len() < k {
                    return None;
                }
                // Random picks from an ordered set: sample positions, then walk to them.
                let mut positions = rand::seq::index::sample(rng, free.len(), k).into_vec();
                positions.sort_unstable();
                let chosen: Vec<usize> = {
                    let mut it = free.iter().enumerate();
                    positions
                        .iter()
                        .map(|p| {
                            *it.find(|(i, _)| i == p)
                                .map(|(_, idx)| idx)
                                .expect("position within the set")
                        })
                        .collect()
                };
                for i in &chosen {
                    free.remove(i);
                }
                let mut ids: Vec<Uuid> = chosen.into_iter().map(|i| self.layout[i].id).collect();
                ids.shuffle(rng);
                Some(ids)
            }
            Strategy::BestAvailable { section } => {
                let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
                let chosen: Vec<usize> = free
                    .iter()
                    .copied()
                    .filter(|i| {
                        section
                            .as_ref()
                            .is_none_or(|s| self.layout[*i].section.eq_ignore_ascii_case(s))
                    })
                    .take(k)
                    .collect();
                if chosen.len() < k {
                    return None;
                }
                for i in &chosen {
                    free.remove(i);
                }
                Some(chosen.into_iter().map(|i| self.layout[i].id).collect())
            }
        }
    }

    /// Puts seats back after a booking that did not keep them.
    pub fn give_back(&self, seats: &[Uuid]) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        for id in seats {
            if let Some(i) = self.layout.iter().position(|s| s.id == *id) {
                free.insert(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn pool(n: usize) -> SeatPool {
        SeatPool::new(
            (0..n)
                .map(|i| Seat {
                    id: Uuid::from_u128(i as u128),
                    section: if i < 4 { "VIP".into() } else { "FLOOR".into() },
                    row: "A".into(),
                    seat_number: i.to_string(),
                    status: "AVAILABLE".into(),
                })
                .collect(),
        )
    }

    #[test]
    fn random_takes_distinct_seats_until_the_pool_is_empty() {
        let pool = pool(10);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut seen = BTreeSet::new();
        while let Some(seats) = pool.take(&Strategy::Random, 3, &mut rng) {
            for s in seats {
                assert!(seen.insert(s), "seat {s} handed out twice");
            }
        }
        assert_eq!(seen.len(), 9);
        assert_eq!(pool.available(), 1);
        pool.give_back(&[Uuid::from_u128(0)]);
        assert_eq!(pool.available(), 2);
    }

    #[test]
    fn best_available_goes_in_layout_order_within_its_section() {
        let pool = pool(10);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let floor = Strategy::BestAvailable {
            section: Some("floor".into()),
        };
        assert_eq!(
            pool.take(&floor, 2, &mut rng).unwrap(),
            vec![Uuid::from_u128(4), Uuid::from_u128(5)]
        );
        assert_eq!(
            pool.take(&Strategy::BestAvailable { section: None }, 1, &mut rng)
                .unwrap(),
            vec![Uuid::from_u128(0)]
        );
    }

    #[test]
    fn hot_spot_aims_at_the_first_seats_and_never_runs_out() {
        let pool = pool(100);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let seats = pool
                .take(&Strategy::HotSpot { seats: 5 }, 2, &mut rng)
                .unwrap();
            assert!(seats.iter().all(|s| s.as_u128() < 5));
        }
        assert_eq!(pool.available(), 100);
    }

    #[test]
    fn strategies_parse_and_bad_ones_say_why() {
        assert_eq!(
            "hot:20".parse::<Strategy>().unwrap(),
            Strategy::HotSpot { seats: 20 }
        );
        assert_eq!(
            "best:VIP".parse::<Strategy>().unwrap(),
            Strategy::BestAvailable {
                section: Some("VIP".into())
            }
        );
        assert!("hot:0"
            .parse::<Strategy>()
            .unwrap_err()
            .contains("positive"));
        assert!("cheapest"
            .parse::<Strategy>()
            .unwrap_err()
            .contains("random, best"));
    }
}
