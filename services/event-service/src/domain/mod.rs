//! Validated event inputs and the seat layout.

mod money;
pub mod seat_layout;
mod text;

pub use money::Cents;
pub use seat_layout::{Pricing, SeatLayout};
pub use text::{bounded_text, Page};
