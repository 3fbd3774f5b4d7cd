//! Validated settings values and the payment record: past the edges only these types exist.

mod payment;
mod payment_status;
mod success_rate;

pub use payment::Payment;
pub use payment_status::PaymentStatus;
pub use success_rate::SuccessRate;
