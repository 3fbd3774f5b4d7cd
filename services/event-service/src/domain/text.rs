//! Text fields and pagination.

/// `raw` trimmed, required non-empty when `required`, at most `max` characters.
///
/// # Errors
/// A message naming `field`.
pub fn bounded_text(field: &str, raw: &str, max: usize, required: bool) -> Result<String, String> {
    let text = raw.trim();
    // Postgres text cannot hold one.
    if text.contains('\0') {
        return Err(format!("{field} must not contain NUL (\\u0000) characters"));
    }
    if required && text.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if text.chars().count() > max {
        return Err(format!("{field} must be at most {max} characters"));
    }
    Ok(text.to_string())
}

/// A page of a listing: `page` >= 1, `limit` in 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub limit: u32,
}

impl Page {
    /// # Errors
    /// A message when `page` is 0 or `limit` is outside 1..=100.
    pub fn parse(page: Option<u32>, limit: Option<u32>) -> Result<Self, String> {
        let page = page.unwrap_or(1);
        // TicketFlow's default page.
        let limit = limit.unwrap_or(10);
        if page == 0 {
            return Err("page must be at least 1".into());
        }
        if !(1..=100).contains(&limit) {
            return Err("limit must be between 1 and 100".into());
        }
        Ok(Self { page, limit })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            Page::parse(None, None).unwrap(),
            Page { page: 1, limit: 10 }
        );
        assert_eq!(Page::parse(Some(3), Some(10)).unwrap().offset(), 20);
        assert!(Page::parse(Some(0), None).is_err());
        assert!(Page::parse(None, Some(101)).is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("name", "  Gig ", 10, true).unwrap(), "Gig");
        assert!(bounded_text("name", "  ", 10, true).is_err());
        assert!(bounded_text("name", "abcdefghijk", 10, true).is_err());
    }
}
