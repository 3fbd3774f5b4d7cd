//! What a notification is (its kind, its delivery status, the text it carries) and where mail
//! goes.

mod draft;
mod notification_kind;
mod notification_status;
mod smtp_endpoint;

pub use draft::Draft;
pub use notification_kind::NotificationKind;
pub use notification_status::NotificationStatus;
pub use smtp_endpoint::SmtpEndpoint;
