//! Addresses: CRUD, and exactly one default per kind while any address of the kind exists.

mod common;

use axum::http::{Method, StatusCode};
use common::Identity;
use serde_json::{Value, json};

fn address(kind: &str, line1: &str, is_default: bool) -> Value {
    json!({
        "kind": kind, "isDefault": is_default, "name": "Ann Lee", "line1": line1,
        "city": "Springfield", "region": "IL", "postalCode": "62701", "country": "us",
        "phone": "+1 217 555 0100"
    })
}

struct Book<'a> {
    identity: &'a Identity,
    token: String,
}

impl Book<'_> {
    async fn add(&self, kind: &str, line1: &str, is_default: bool) -> String {
        let reply = self
            .identity
            .request(
                Method::POST,
                "/api/users/me/addresses",
                Some(address(kind, line1, is_default)),
                Some(&self.token),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// (line1, isDefault) of every address of `kind`, in list order.
    async fn of(&self, kind: &str) -> Vec<(String, bool)> {
        let reply = self
            .identity
            .get("/api/users/me/addresses", &self.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        reply
            .body
            .as_array()
            .expect("list")
            .iter()
            .filter(|a| a["kind"] == kind)
            .map(|a| {
                (
                    a["line1"].as_str().expect("line1").to_owned(),
                    a["isDefault"].as_bool().expect("flag"),
                )
            })
            .collect()
    }

    async fn defaults(&self, kind: &str) -> Vec<String> {
        self.of(kind)
            .await
            .into_iter()
            .filter(|(_, d)| *d)
            .map(|(l, _)| l)
            .collect()
    }
}

#[tokio::test]
async fn each_kind_has_exactly_one_default_while_it_has_addresses() {
    let identity = Identity::start().await;
    let (token, _, _) = identity.sign_up("ann@example.com").await;
    let book = Book {
        identity: &identity,
        token,
    };

    // The first of a kind becomes its default, without asking.
    let home = book.add("shipping", "1 Home St", false).await;
    assert_eq!(book.defaults("shipping").await, ["1 Home St"]);
    let office = book.add("shipping", "2 Office Rd", false).await;
    assert_eq!(book.defaults("shipping").await, ["1 Home St"]);
    // Billing is counted separately.
    book.add("billing", "3 Bank Ave", false).await;
    assert_eq!(book.defaults("billing").await, ["3 Bank Ave"]);

    // Asking for default moves the mark.
    let cabin = book.add("shipping", "4 Cabin Ln", true).await;
    assert_eq!(book.defaults("shipping").await, ["4 Cabin Ln"]);
    let reply = identity
        .request(
            Method::PUT,
            &format!("/api/users/me/addresses/{office}"),
            Some(address("shipping", "2 Office Rd", true)),
            Some(&book.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["country"], "US", "country codes are normalized");
    assert_eq!(book.defaults("shipping").await, ["2 Office Rd"]);

    // Deleting the default passes it to the most recently added remaining address of the kind.
    let deleted = identity
        .request(
            Method::DELETE,
            &format!("/api/users/me/addresses/{office}"),
            None,
            Some(&book.token),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(book.defaults("shipping").await, ["4 Cabin Ln"]);
    assert_eq!(
        book.defaults("billing").await,
        ["3 Bank Ave"],
        "other kinds are untouched"
    );

    // Moving the default to the other kind: it keeps billing's default, shipping gets a new one.
    let moved = identity
        .request(
            Method::PUT,
            &format!("/api/users/me/addresses/{cabin}"),
            Some(address("billing", "4 Cabin Ln", false)),
            Some(&book.token),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(book.defaults("shipping").await, ["1 Home St"]);
    assert_eq!(book.defaults("billing").await, ["3 Bank Ave"]);

    // Deleting the last of a kind leaves no default to speak of.
    for id in [home] {
        identity
            .request(
                Method::DELETE,
                &format!("/api/users/me/addresses/{id}"),
                None,
                Some(&book.token),
            )
            .await;
    }
    assert!(book.of("shipping").await.is_empty());
    identity.cleanup().await;
}

#[tokio::test]
async fn addresses_are_private_to_their_owner() {
    let identity = Identity::start().await;
    let (ann, _, _) = identity.sign_up("ann@example.com").await;
    let (bob, _, _) = identity.sign_up("bob@example.com").await;
    let book = Book {
        identity: &identity,
        token: ann.clone(),
    };
    let id = book.add("shipping", "1 Home St", false).await;
    let path = format!("/api/users/me/addresses/{id}");
    assert_eq!(identity.get(&path, &ann).await.status, StatusCode::OK);
    assert_eq!(
        identity.get(&path, &bob).await.status,
        StatusCode::NOT_FOUND
    );
    let stolen = identity
        .request(Method::DELETE, &path, None, Some(&bob))
        .await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);
    assert_eq!(identity.get(&path, &ann).await.status, StatusCode::OK);
    assert_eq!(
        identity
            .get("/api/users/me/addresses/not-a-uuid", &ann)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    identity.cleanup().await;
}

#[tokio::test]
async fn an_invalid_address_names_its_fields_and_is_not_stored() {
    let identity = Identity::start().await;
    let (token, _, _) = identity.sign_up("ann@example.com").await;
    let reply = identity
        .request(
            Method::POST,
            "/api/users/me/addresses",
            Some(json!({"kind": "shipping", "name": "", "line1": " ", "city": "X", "postalCode": "1", "country": "USA", "phone": "call me"})),
            Some(&token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = reply.field_errors().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["name", "line1", "country", "phone"]);
    let unknown_kind = identity
        .request(
            Method::POST,
            "/api/users/me/addresses",
            Some(address("holiday", "1 Beach", false)),
            Some(&token),
        )
        .await;
    assert_eq!(unknown_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_kind.content_type(), "application/problem+json");
    assert_eq!(identity.count("addresses").await, 0);
    identity.cleanup().await;
}
