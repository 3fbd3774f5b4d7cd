//! A password as the client sent it: 8 to 128 characters (the upper bound keeps argon2's work per
//! request bounded).

/// A password that meets the length rules. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Password {
    /// # Errors
    /// A message for the client.
    pub fn parse(raw: String) -> Result<Self, String> {
        match raw.chars().count() {
            n if n < 8 => Err("password must be at least 8 characters".into()),
            n if n > 128 => Err("password must be at most 128 characters".into()),
            _ => Ok(Self(raw)),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn short_and_long_passwords_are_rejected() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
    }
}
