//! The slicer toxic: cuts each chunk into pieces of about `average_size` ± `size_variation`
//! bytes, waiting `delay` µs after each piece, to exercise a peer's framing code.
//!
//! The split is toxiproxy's: halve around the middle with a random shift until a piece is
//! within the variation of the average, so pieces vary evenly across the chunk.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{deadline, Pipe, PipeEnd, Piped, StreamChunk, ToxicStub};

/// Piece sizes in bytes and the pause after each piece in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Slicer {
    /// Average piece size in bytes (must be > 0).
    pub average_size: u64,
    /// ± bytes around the average (clamped below `average_size`).
    pub size_variation: u64,
    /// Pause after each piece, in microseconds.
    pub delay: u64,
}

impl Slicer {
    /// Offsets of the pieces of `[start, end)`, as consecutive (start, end) pairs.
    fn cut(&self, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
        let avg = self.average_size as usize;
        let var = (self.size_variation as usize).min(avg.saturating_sub(1));
        if (end - start).saturating_sub(avg) <= var {
            out.push((start, end));
            return;
        }
        let shift = if var == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..var * 2) as isize - var as isize
        };
        let mid = (start + (end - start) / 2) as isize + shift;
        // Keep both halves non-empty whatever the shift.
        let mid = mid.clamp(start as isize + 1, end as isize - 1) as usize;
        self.cut(start, mid, out);
        self.cut(mid, end, out);
    }
}

impl Pipe for Slicer {
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped {
        let pause = Duration::from_micros(self.delay);
        let mut pieces = Vec::new();
        loop {
            let mut chunk = stub.next().await?.ok_or(PipeEnd::Closed)?;
            pieces.clear();
            self.cut(0, chunk.data.len(), &mut pieces);
            let mut taken = 0;
            for &(start, end) in &pieces {
                let piece = StreamChunk {
                    data: chunk.data.split_to(end - start),
                    timestamp: chunk.timestamp,
                };
                debug_assert_eq!(start, taken);
                taken = end;
                if let Err(stop) = stub.forward(piece).await {
                    if !chunk.data.is_empty() {
                        stub.keep(chunk);
                    }
                    return Err(stop);
                }
                if !pause.is_zero() {
                    // Saturating: `delay` is any u64 the API took.
                    let due = deadline(tokio::time::Instant::now(), pause);
                    if let Err(stop) = stub.sleep_until(due).await {
                        if !chunk.data.is_empty() {
                            stub.keep(chunk);
                        }
                        return Err(stop);
                    }
                }
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.average_size == 0 {
            return Err("slicer average_size must be greater than 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_covers_the_chunk_in_order_with_sizes_near_the_average() {
        let s = Slicer {
            average_size: 10,
            size_variation: 3,
            delay: 0,
        };
        for len in [1usize, 9, 10, 13, 14, 100, 1000, 4097] {
            let mut out = Vec::new();
            s.cut(0, len, &mut out);
            let mut at = 0;
            for &(a, b) in &out {
                assert_eq!(a, at);
                assert!(b > a);
                at = b;
            }
            assert_eq!(at, len);
            if len > 13 {
                assert!(out.iter().all(|&(a, b)| b - a <= 13), "{len}: {out:?}");
            }
        }
    }

    #[test]
    fn cut_without_variation_terminates() {
        let s = Slicer {
            average_size: 1,
            size_variation: 0,
            delay: 0,
        };
        let mut out = Vec::new();
        s.cut(0, 50, &mut out);
        assert_eq!(out.len(), 50);
    }

    proptest::proptest! {
        /// Any attributes the API accepts (average_size >= 1) cut any chunk into non-empty pieces
        /// that cover it in order; never a panic.
        #[test]
        fn any_accepted_sizes_cut_any_chunk(
            average_size in proptest::prop_oneof![1u64..64, 1u64..=u64::MAX],
            size_variation in proptest::prop_oneof![0u64..64, 0u64..=u64::MAX],
            len in 0usize..20_000,
        ) {
            let s = Slicer { average_size, size_variation, delay: 0 };
            let mut out = Vec::new();
            s.cut(0, len, &mut out);
            let mut at = 0;
            for &(a, b) in &out {
                proptest::prop_assert_eq!(a, at);
                proptest::prop_assert!(b > a || len == 0);
                at = b;
            }
            proptest::prop_assert_eq!(at, len);
        }
    }
}
