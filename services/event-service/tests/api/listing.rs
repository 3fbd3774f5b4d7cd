//! `GET /api/events?page&limit&search`: date order, pages that add up, a literal search, and
//! 400 envelopes for paging it cannot serve.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, strings};

fn names(page: &Value) -> Vec<&str> {
    strings(&page["events"], "name")
}

#[tokio::test]
async fn events_page_in_date_order_and_search_matches_literally() {
    // Arrange: five events created out of date order
    let app = spawn_app().await;
    let venue = app.create_venue("Hall").await;
    let events = [
        ("Echo", "2027-05-01", "rock", ""),
        ("Alpha", "2027-01-01", "jazz", ""),
        ("Delta", "2027-04-01", "rock", "100% live"),
        ("Bravo", "2027-02-01", "Jazz", ""),
        ("Charlie_1", "2027-03-01", "folk", ""),
    ];
    for (name, date, category, description) in events {
        app.create_event(
            &venue,
            json!({"name": name, "event_date": format!("{date}T20:00:00Z"), "category": category,
                   "description": description}),
        )
        .await;
    }

    // Act
    let page1 = app.get_ok("/api/events?page=1&limit=2").await;
    let page2 = app.get_ok("/api/events?page=2&limit=2").await;
    let page3 = app.get_ok("/api/events?page=3&limit=2").await;
    let past_the_end = app.get_ok("/api/events?page=9&limit=2").await;
    let default = app.get_ok("/api/events").await;

    // Assert
    assert_eq!(names(&page1), ["Alpha", "Bravo"]);
    assert_eq!(names(&page2), ["Charlie_1", "Delta"]);
    assert_eq!(names(&page3), ["Echo"]);
    assert!(names(&past_the_end).is_empty());
    for page in [&page1, &page2, &page3, &past_the_end] {
        assert_eq!(page["total"], 5, "total counts every match, not the page");
        assert_eq!(page["limit"], 2);
    }
    assert_eq!(page2["page"], 2);
    assert_eq!(
        (default["page"].clone(), default["limit"].clone()),
        (json!(1), json!(10))
    );
    assert_eq!(names(&default).len(), 5);
    let search = |q: &'static str| {
        let app = &app;
        async move { app.get_ok(&format!("/api/events?search={q}")).await }
    };
    assert_eq!(
        names(&search("JAZZ").await),
        ["Alpha", "Bravo"],
        "category, any case"
    );
    assert_eq!(
        names(&search("100%25").await),
        ["Delta"],
        "description, % literal"
    );
    assert_eq!(names(&search("e_1").await), ["Charlie_1"], "_ is literal");
    assert_eq!(names(&search("%25").await), ["Delta"]);
    assert_eq!(
        search("_").await["total"],
        1,
        "_ matches only an underscore"
    );
    assert_eq!(
        search("%20%20").await["total"],
        5,
        "a blank search is no filter"
    );
}

#[tokio::test]
async fn paging_it_cannot_serve_is_a_400_envelope_naming_the_parameter() {
    let app = spawn_app().await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=99999999999", "limit"),
        ("page=0", "page"),
        ("page=-2", "page"),
        ("page=two", "page"),
    ];
    for (query, parameter) in cases {
        let response = app.get(&format!("/api/events?{query}"), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let message = assert_error(response, StatusCode::BAD_REQUEST, "VALIDATION_ERROR").await;
        assert!(message.contains(parameter), "{query}: {message}");
    }
    let edge = app.get_ok("/api/events?limit=100&page=1").await;
    assert_eq!(edge["limit"], 100, "100 is the largest page");
}
