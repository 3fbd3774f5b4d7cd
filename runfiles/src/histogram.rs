//! The latency histograms of `summary.json`'s `histograms` map: an HdrHistogram V2
//! serialisation in standard base64, values in microseconds. loadgen encodes them, `loadgen
//! merge` and the reports decode them; this is the one definition of the encoding.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

/// Encodes a histogram for `summary.json`.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serialising into a Vec cannot fail for a valid histogram.
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .expect("V2 serialization into memory");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes one `histograms` entry (surrounding white space is ignored).
///
/// # Errors
/// A message saying whether the base64 or the V2 encoding is broken.
pub fn decode(encoded: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 serialization: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encoded_decodes_to_the_same_counts() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let back = decode(&format!(" {}\n", encode(&h))).unwrap();
        assert_eq!(back.len(), 1000);
        assert_eq!(back.value_at_quantile(0.99), h.value_at_quantile(0.99));
        assert_eq!(back.max(), h.max());
    }

    #[test]
    fn broken_text_says_which_layer_is_broken() {
        assert!(decode("%%%").unwrap_err().contains("base64"));
        assert!(decode("AAAA").unwrap_err().contains("V2"));
    }
}
