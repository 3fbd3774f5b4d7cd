//! Shorthands for the invariant tests: readable ids, rows, and the ops of one booking.

use uuid::Uuid;

use runfiles::final_state::{BookingRow, BookingStatus, FinalState, SeatRow, SeatStatus};
use runfiles::history::{invoke, ok, Op, OpFn, OpValue};

pub use BookingStatus::{Cancelled, Confirmed, Expired, Failed, Pending};

/// A readable id: 00000000-0000-0000-0000-0000000000nn.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// The user of every test.
pub const USER: u128 = 900;
/// The event of every test.
pub const EVENT: u128 = 800;

/// A booking of `seats` (ids) by the test user for the test event.
pub fn booking(n: u128, seats: &[u128], status: BookingStatus) -> BookingRow {
    BookingRow::new(
        id(n),
        id(USER),
        id(EVENT),
        seats.iter().map(|&s| id(s)).collect(),
        status,
    )
}

/// A seat of the test event.
pub fn seat(n: u128, status: SeatStatus, holder: Option<u128>) -> SeatRow {
    SeatRow::new(id(n), id(EVENT), status, holder.map(id))
}

/// A final state of these rows, payments and notifications observed and empty.
pub fn state(bookings: Vec<BookingRow>, seats: Vec<SeatRow>) -> FinalState {
    FinalState {
        bookings,
        seats,
        payments: Some(Vec::new()),
        notifications: Some(Vec::new()),
        ..FinalState::default()
    }
}

/// The value of a book invoke of `seats` by the test user.
pub fn book_value(seats: &[u128]) -> OpValue {
    OpValue::book(id(USER), id(EVENT), seats.iter().map(|&s| id(s)).collect())
}

/// Invoke and ok of a booking `booking` of `seats` whose client observed `statuses`.
pub fn booked(process: u64, booking: u128, seats: &[u128], statuses: &[BookingStatus]) -> [Op; 2] {
    [
        invoke(process, OpFn::Book, book_value(seats)),
        ok(
            process,
            OpFn::Book,
            book_value(seats)
                .with_booking(id(booking))
                .with_statuses(statuses),
        ),
    ]
}
