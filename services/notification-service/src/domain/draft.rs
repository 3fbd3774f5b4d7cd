//! The subject and body of each kind of notification.

use uuid::Uuid;

use super::NotificationKind;

/// A notification's text, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub kind: NotificationKind,
    pub subject: String,
    pub body: String,
}

impl Draft {
    /// Welcome for a newly registered user.
    pub fn welcome(name: &str, email: &str) -> Self {
        let name = single_line(name);
        Self {
            kind: NotificationKind::Welcome,
            subject: format!("Welcome to TicketFlow, {name}"),
            body: format!(
                "Hi {name},\n\nyour TicketFlow account {email} is ready. Happy booking!\n"
            ),
        }
    }

    /// The booking is confirmed: the seats are the user's.
    pub fn confirmed(booking_id: Uuid, event_name: &str, seats: usize, amount_cents: i64) -> Self {
        let event = single_line(event_name);
        let plural = if seats == 1 { "" } else { "s" };
        Self {
            kind: NotificationKind::Confirmed,
            subject: format!("Booking confirmed: {event}"),
            body: format!(
                "Your booking {booking_id} for {event} is confirmed: {seats} seat{plural}, {} paid.\n",
                units(amount_cents)
            ),
        }
    }

    /// The booking closed without seats; `reason` is the `booking.failed`/`booking.cancelled`
    /// reason and picks the kind.
    pub fn closed(
        kind: NotificationKind,
        booking_id: Uuid,
        event_name: &str,
        reason: &str,
    ) -> Self {
        let event = single_line(event_name);
        let refund = "Any payment taken for it is refunded.";
        let (subject, why) = match kind {
            NotificationKind::Expired => (
                format!("Booking expired: {event}"),
                "was not completed in time and its seats were released".to_string(),
            ),
            NotificationKind::Cancelled => (
                format!("Booking cancelled: {event}"),
                "was cancelled and its seats were released".to_string(),
            ),
            _ => (
                format!("Booking failed: {event}"),
                match reason {
                    "LOCK_FAILED" => {
                        "could not be completed: the seats were no longer available".to_string()
                    }
                    "PAYMENT_FAILED" => {
                        "could not be completed: the payment was declined".to_string()
                    }
                    other => format!("could not be completed ({})", single_line(other)),
                },
            ),
        };
        Self {
            kind,
            subject,
            body: format!("Your booking {booking_id} for {event} {why}. {refund}\n"),
        }
    }
}

/// `text` on one line: control characters (line breaks included) become spaces, so a name can
/// never add a line to a subject or a mail header.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Cents as currency units with two decimals (`7550` -> `75.50`).
fn units(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_names_the_event_seats_and_amount() {
        let id = Uuid::nil();
        let draft = Draft::confirmed(id, "Rock Night", 2, 7550);
        assert_eq!(draft.kind, NotificationKind::Confirmed);
        assert_eq!(draft.subject, "Booking confirmed: Rock Night");
        assert!(draft.body.contains("2 seats, 75.50 paid"), "{}", draft.body);
        assert!(draft.body.contains(&id.to_string()));
        assert!(Draft::confirmed(id, "x", 1, 5)
            .body
            .contains("1 seat, 0.05 paid"));
    }

    #[test]
    fn closed_bookings_say_why() {
        let id = Uuid::nil();
        let cases = [
            (
                NotificationKind::Expired,
                "EXPIRED",
                "Booking expired: Gig",
                "not completed in time",
            ),
            (
                NotificationKind::Cancelled,
                "CANCELLED",
                "Booking cancelled: Gig",
                "was cancelled",
            ),
            (
                NotificationKind::Failed,
                "LOCK_FAILED",
                "Booking failed: Gig",
                "no longer available",
            ),
            (
                NotificationKind::Failed,
                "PAYMENT_FAILED",
                "Booking failed: Gig",
                "payment was declined",
            ),
            (
                NotificationKind::Failed,
                "ODD",
                "Booking failed: Gig",
                "(ODD)",
            ),
        ];
        for (kind, reason, subject, phrase) in cases {
            let draft = Draft::closed(kind, id, "Gig", reason);
            assert_eq!(draft.subject, subject, "{reason}");
            assert!(draft.body.contains(phrase), "{reason}: {}", draft.body);
        }
    }

    #[test]
    fn names_cannot_break_lines() {
        let draft = Draft::welcome("Eve\r\nBcc: victim@example.com", "eve@example.com");
        assert!(
            !draft.subject.contains('\n') && !draft.subject.contains('\r'),
            "{}",
            draft.subject
        );
    }
}
