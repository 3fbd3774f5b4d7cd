//! Validated inputs: past the handler only these types exist.

mod email;
mod password;
mod user_name;

pub use email::Email;
pub use password::Password;
pub use user_name::UserName;
