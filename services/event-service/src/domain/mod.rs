//! Validated event inputs, and the seat layout (kit's, shared with the services that rebuild it).

mod money;
mod text;

pub use kit::seat_layout::{Pricing, SeatLayout};
pub use money::Cents;
pub use text::{bounded_text, Page};
