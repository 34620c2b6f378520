//! Specification of access-token authentication: what a component accepts, what it rejects and
//! how it answers, and how identity's key rotation reaches it. No external services: tokens come
//! from `TestIssuer`, the JWKS endpoint is a local axum server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_platform::Problem;
use bazaar_platform::auth::{
    AuthConfig, AuthError, Claims, CurrentUser, JwkSet, Role, TestIssuer, TokenSigner, Verifier,
};
use clap::{CommandFactory, Parser};
use serde_json::{Value, json};
use tower::ServiceExt;

const FIVE_MINUTES: Duration = Duration::from_secs(300);

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Verifies `token` with `verifier` and returns why it was rejected.
async fn rejection(verifier: &Verifier, token: &str) -> AuthError {
    verifier
        .verify(token)
        .await
        .expect_err("the token should have been rejected")
}

fn jwks_of(issuers: &[&TestIssuer]) -> JwkSet {
    JwkSet {
        keys: issuers
            .iter()
            .flat_map(|issuer| issuer.jwks().keys)
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Verifying tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_is_accepted_with_its_claims_and_roles() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[Role::Customer, Role::Ops], FIVE_MINUTES);

    let claims = issuer.verifier().verify(&token).await.expect("valid token");

    assert_eq!(claims.sub, "user-1");
    assert_eq!(claims.roles, [Role::Customer, Role::Ops]);
    assert_eq!(claims.iss, "bazaar-identity");
    assert_eq!(claims.aud, "bazaar");
    assert!(claims.jti.is_some(), "every issued token gets a jti");
}

#[tokio::test]
async fn an_expired_token_is_rejected_as_expired() {
    let issuer = TestIssuer::new();
    let token = issuer.issue_with(&Claims {
        iat: now() - 600,
        exp: now() - 120,
        ..issuer.claims("user-1", &[Role::Customer])
    });

    assert!(matches!(
        rejection(&issuer.verifier(), &token).await,
        AuthError::Expired
    ));
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_still_accepted() {
    let issuer = TestIssuer::new();
    // The default leeway is 30 s, absorbing clock skew between identity and this component.
    let token = issuer.issue_with(&Claims {
        exp: now() - 10,
        ..issuer.claims("user-1", &[])
    });

    issuer
        .verifier()
        .verify(&token)
        .await
        .expect("within the leeway");
}

#[tokio::test]
async fn a_token_used_before_its_nbf_is_rejected_as_not_yet_valid() {
    let issuer = TestIssuer::new();
    let token = issuer.issue_with(&Claims {
        nbf: Some(now() + 600),
        ..issuer.claims("user-1", &[])
    });

    assert!(matches!(
        rejection(&issuer.verifier(), &token).await,
        AuthError::NotYetValid
    ));
}

#[tokio::test]
async fn a_token_whose_payload_was_tampered_with_is_rejected() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[Role::Customer], FIVE_MINUTES);
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        panic!("a JWT has three parts");
    };
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
            .expect("JSON payload");
    claims["roles"] = json!(["admin"]);
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("JSON"));
    let forged = format!("{header}.{forged_payload}.{signature}");

    assert!(matches!(
        rejection(&issuer.verifier(), &forged).await,
        AuthError::InvalidSignature
    ));
}

#[tokio::test]
async fn a_token_for_another_audience_is_rejected() {
    let issuer = TestIssuer::new();
    let token = issuer.issue_with(&Claims {
        aud: "someone-else".to_owned(),
        ..issuer.claims("user-1", &[])
    });

    assert!(matches!(
        rejection(&issuer.verifier(), &token).await,
        AuthError::WrongAudience
    ));
}

#[tokio::test]
async fn a_token_from_another_issuer_is_rejected() {
    let issuer = TestIssuer::new();
    let token = issuer.issue_with(&Claims {
        iss: "https://evil.example".to_owned(),
        ..issuer.claims("user-1", &[])
    });

    assert!(matches!(
        rejection(&issuer.verifier(), &token).await,
        AuthError::WrongIssuer
    ));
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_trusted_kid_is_rejected() {
    let identity = TestIssuer::new();
    let impostor = TestIssuer::new().with_kid(identity.kid());
    let token = impostor.issue("user-1", &[Role::Admin], FIVE_MINUTES);

    assert!(matches!(
        rejection(&identity.verifier(), &token).await,
        AuthError::InvalidSignature
    ));
}

#[tokio::test]
async fn a_token_naming_an_unknown_kid_is_rejected() {
    let identity = TestIssuer::new();
    let stranger = TestIssuer::new();
    let token = stranger.issue("user-1", &[], FIVE_MINUTES);

    assert!(matches!(
        rejection(&identity.verifier(), &token).await,
        AuthError::UnknownKey
    ));
}

#[tokio::test]
async fn during_a_key_rotation_tokens_of_the_old_and_the_new_key_both_verify() {
    let old = TestIssuer::new();
    let new = TestIssuer::new();
    let verifier = Verifier::new(&AuthConfig::default(), jwks_of(&[&old, &new])).expect("keys");

    for issuer in [&old, &new] {
        let token = issuer.issue("user-1", &[Role::Customer], FIVE_MINUTES);
        let claims = verifier
            .verify(&token)
            .await
            .expect("both keys are trusted");
        assert_eq!(claims.sub, "user-1");
    }
}

#[tokio::test]
async fn an_hs256_token_is_rejected_even_when_keyed_with_the_public_key() {
    // The classic algorithm-confusion attack: HMAC "signed" with the verifier's public key.
    let identity = TestIssuer::new();
    let public_key = identity.jwks().keys[0].clone();
    let secret = serde_json::to_vec(&public_key).expect("JSON");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(identity.kid().to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &identity.claims("user-1", &[Role::Admin]),
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .expect("HS256 token");

    assert!(matches!(
        rejection(&identity.verifier(), &token).await,
        AuthError::UnsupportedAlgorithm
    ));
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_rejected() {
    let identity = TestIssuer::new();
    let header = json!({ "alg": "none", "typ": "JWT", "kid": identity.kid() });
    let claims = identity.claims("user-1", &[Role::Admin]);
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON"));
    let token = format!(
        "{}.{}.",
        encode(&header),
        encode(&serde_json::to_value(&claims).expect("JSON"))
    );

    // jsonwebtoken cannot even represent `none`, so the header does not parse.
    assert!(matches!(
        rejection(&identity.verifier(), &token).await,
        AuthError::Malformed(_)
    ));
}

#[tokio::test]
async fn a_token_without_kid_or_not_a_jwt_at_all_is_malformed() {
    let identity = TestIssuer::new();
    let verifier = identity.verifier();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = None;
    let pem = identity.signer().to_pkcs8_pem().expect("PEM");
    let key = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).expect("Ed25519 key");
    let without_kid = jsonwebtoken::encode(&header, &identity.claims("user-1", &[]), &key)
        .expect("token without kid");

    for token in [without_kid.as_str(), "not-a-jwt", "a.b.c", ""] {
        assert!(
            matches!(rejection(&verifier, token).await, AuthError::Malformed(_)),
            "{token:?}"
        );
    }
}

#[tokio::test]
async fn a_token_missing_a_required_claim_is_malformed() {
    let issuer = TestIssuer::new();
    let mut claims = serde_json::to_value(issuer.claims("user-1", &[])).expect("JSON");
    claims.as_object_mut().expect("object").remove("exp");

    let error = rejection(&issuer.verifier(), &sign_raw(&issuer, &claims)).await;

    assert!(matches!(error, AuthError::Malformed(_)), "{error:?}");
}

#[tokio::test]
async fn roles_this_build_does_not_know_are_ignored_not_fatal() {
    // Identity may roll out a new role before every component knows it.
    let issuer = TestIssuer::new();
    let mut claims = serde_json::to_value(issuer.claims("user-1", &[])).expect("JSON");
    claims["roles"] = json!(["customer", "auditor"]);
    let token = sign_raw(&issuer, &claims);

    let claims = issuer.verifier().verify(&token).await.expect("valid token");

    assert_eq!(claims.roles, [Role::Customer]);
}

/// Signs arbitrary JSON claims with `issuer`'s key, for payloads `Claims` cannot express.
fn sign_raw(issuer: &TestIssuer, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(issuer.kid().to_owned());
    let pem = issuer.signer().to_pkcs8_pem().expect("PEM");
    let key = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).expect("Ed25519 key");
    jsonwebtoken::encode(&header, claims, &key).expect("token")
}

// ---------------------------------------------------------------------------------------------
// Key sources
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn without_a_key_source_the_service_starts_but_rejects_every_token() {
    let issuer = TestIssuer::new();
    let verifier = Verifier::from_config(&AuthConfig::default())
        .await
        .expect("starts without keys");

    let error = rejection(&verifier, &issuer.issue("user-1", &[], FIVE_MINUTES)).await;

    assert!(matches!(error, AuthError::NotConfigured));
    assert!(error.to_string().contains("no keys"), "{error}");
}

#[tokio::test]
async fn keys_can_come_from_a_jwks_file() {
    let issuer = TestIssuer::new();
    let path = std::env::temp_dir().join(format!("bazaar-jwks-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&path, serde_json::to_vec(&issuer.jwks()).expect("JSON")).expect("write JWKS");
    let config = AuthConfig {
        jwks_file: Some(path.clone()),
        ..AuthConfig::default()
    };

    let verifier = Verifier::from_config(&config).await;
    std::fs::remove_file(&path).expect("remove JWKS");

    let token = issuer.issue("user-1", &[], FIVE_MINUTES);
    verifier
        .expect("JWKS file loads")
        .verify(&token)
        .await
        .expect("valid token");
}

#[tokio::test]
async fn a_missing_jwks_file_fails_startup() {
    let config = AuthConfig {
        jwks_file: Some("/nonexistent/jwks.json".into()),
        ..AuthConfig::default()
    };

    let error = Verifier::from_config(&config)
        .await
        .expect_err("no such file");

    assert!(matches!(error, AuthError::KeySource(_)), "{error:?}");
}

#[test]
fn a_jwks_without_any_ed25519_key_is_refused() {
    let jwks: JwkSet = serde_json::from_value(json!({ "keys": [
        { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
        { "kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ", "kid": "short" },
        { "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
    ]}))
    .expect("a JWKS");

    let error = Verifier::new(&AuthConfig::default(), jwks).expect_err("no usable key");

    assert!(matches!(error, AuthError::KeySource(_)), "{error:?}");
}

#[tokio::test]
async fn only_http_jwks_urls_are_accepted() {
    let config = AuthConfig {
        jwks_url: Some(
            "https://identity/.well-known/jwks.json"
                .parse()
                .expect("URL"),
        ),
        ..AuthConfig::default()
    };

    let error = Verifier::from_config(&config)
        .await
        .expect_err("no TLS in this build");

    assert!(matches!(error, AuthError::KeySource(_)), "{error:?}");
}

/// A stand-in for identity's JWKS endpoint that counts its requests.
struct JwksServer {
    config: AuthConfig,
    jwks: Arc<Mutex<JwkSet>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(jwks: JwkSet) -> Self {
        #[derive(Clone)]
        struct Shared {
            jwks: Arc<Mutex<JwkSet>>,
            hits: Arc<AtomicUsize>,
        }
        let shared = Shared {
            jwks: Arc::new(Mutex::new(jwks)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route(
                "/.well-known/jwks.json",
                get(|State(shared): State<Shared>| async move {
                    shared.hits.fetch_add(1, Ordering::SeqCst);
                    Json(shared.jwks.lock().expect("not poisoned").clone())
                }),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{address}/.well-known/jwks.json");
        Self {
            config: AuthConfig {
                jwks_url: Some(url.parse().expect("URL")),
                ..AuthConfig::default()
            },
            jwks: shared.jwks,
            hits: shared.hits,
        }
    }

    fn publish(&self, jwks: JwkSet) {
        *self.jwks.lock().expect("not poisoned") = jwks;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_new_kid_makes_the_verifier_refetch_the_jwks_but_at_most_once_per_30_seconds() {
    let old = TestIssuer::new();
    let new = TestIssuer::new();
    let stranger = TestIssuer::new();
    let identity = JwksServer::start(old.jwks()).await;
    let verifier = Verifier::from_config(&identity.config)
        .await
        .expect("verifier");
    assert_eq!(identity.hits(), 1, "the JWKS is fetched at startup");

    verifier
        .verify(&old.issue("user-1", &[], FIVE_MINUTES))
        .await
        .expect("old key is trusted");
    assert_eq!(identity.hits(), 1, "known keys need no fetch");

    // Identity rotates: it publishes the new key next to the old one and signs with the new one.
    identity.publish(jwks_of(&[&old, &new]));
    verifier
        .verify(&new.issue("user-1", &[], FIVE_MINUTES))
        .await
        .expect("the new key is fetched on first sight");
    assert_eq!(identity.hits(), 2);

    // Another unknown kid right after: no second fetch, so forged kids cannot hammer identity.
    let error = rejection(&verifier, &stranger.issue("user-1", &[], FIVE_MINUTES)).await;
    assert!(matches!(error, AuthError::UnknownKey));
    assert_eq!(identity.hits(), 2);

    // The old key keeps verifying until identity stops publishing it.
    verifier
        .verify(&old.issue("user-1", &[], FIVE_MINUTES))
        .await
        .expect("old key is still trusted");
}

#[tokio::test]
async fn a_process_serving_the_jwks_itself_fetches_it_on_the_first_token_not_at_startup() {
    let issuer = TestIssuer::new();
    let identity = JwksServer::start(issuer.jwks()).await;

    let verifier = Verifier::fetching_on_first_token(&identity.config).expect("verifier");
    assert_eq!(
        identity.hits(),
        0,
        "nothing is asked before the first token"
    );

    verifier
        .verify(&issuer.issue("user-1", &[], FIVE_MINUTES))
        .await
        .expect("the key is fetched on first sight");
    assert_eq!(identity.hits(), 1);
}

#[tokio::test]
async fn a_burst_of_tokens_with_a_new_kid_costs_identity_one_request() {
    let old = TestIssuer::new();
    let new = TestIssuer::new();
    let identity = JwksServer::start(old.jwks()).await;
    let verifier = Verifier::from_config(&identity.config)
        .await
        .expect("verifier");
    identity.publish(jwks_of(&[&old, &new]));
    let token = new.issue("user-1", &[], FIVE_MINUTES);

    let results = futures::future::join_all((0..10).map(|_| verifier.verify(&token))).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(identity.hits(), 2);
}

#[tokio::test]
async fn a_key_identity_no_longer_publishes_stops_verifying_after_a_refresh() {
    let old = TestIssuer::new();
    let new = TestIssuer::new();
    let identity = JwksServer::start(jwks_of(&[&old, &new])).await;
    let verifier = Verifier::from_config(&identity.config)
        .await
        .expect("verifier");

    identity.publish(new.jwks());
    assert_eq!(verifier.refresh().await.expect("refresh"), 1);

    let error = rejection(&verifier, &old.issue("user-1", &[], FIVE_MINUTES)).await;
    assert!(matches!(error, AuthError::UnknownKey));
    assert_eq!(verifier.key_ids().await, [new.kid()]);
}

#[tokio::test]
async fn an_unreachable_identity_does_not_stop_startup() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let config = AuthConfig {
        jwks_url: Some(
            format!("http://{address}/.well-known/jwks.json")
                .parse()
                .expect("URL"),
        ),
        ..AuthConfig::default()
    };

    let verifier = Verifier::from_config(&config)
        .await
        .expect("starts before identity");

    assert!(verifier.key_ids().await.is_empty());
    let error = rejection(
        &verifier,
        &TestIssuer::new().issue("user-1", &[], FIVE_MINUTES),
    )
    .await;
    assert!(matches!(error, AuthError::UnknownKey), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// HTTP: the CurrentUser extractor and the problem+json answers
// ---------------------------------------------------------------------------------------------

async fn whoami(user: CurrentUser) -> Json<Value> {
    Json(json!({ "id": user.id, "roles": user.roles }))
}

async fn ops_only(user: CurrentUser) -> Result<&'static str, Problem> {
    user.require(Role::Ops)?;
    Ok("refunded")
}

async fn cart(user: Option<CurrentUser>) -> String {
    user.map_or_else(|| "guest".to_owned(), |user| user.id)
}

fn routes() -> Router {
    Router::new()
        .route("/me", get(whoami))
        .route("/refunds", get(ops_only))
        .route("/cart", get(cart))
}

fn app(verifier: Verifier) -> Router {
    routes().layer(Extension(Arc::new(verifier)))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("a {name} header"))
            .to_str()
            .expect("ASCII header")
    }

    fn assert_problem(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header(header::CONTENT_TYPE),
            "application/problem+json"
        );
        assert_eq!(self.json()["status"], status.as_u16());
    }
}

async fn get_with(app: Router, uri: &str, authorization: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_request_with_a_valid_bearer_token_reaches_the_handler_as_that_user() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[Role::Customer], FIVE_MINUTES);

    let answer = get_with(app(issuer.verifier()), "/me", Some(&bearer(&token))).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({ "id": "user-1", "roles": ["customer"] })
    );
}

#[tokio::test]
async fn a_request_without_authorization_gets_401_with_a_bearer_challenge() {
    let issuer = TestIssuer::new();

    let answer = get_with(app(issuer.verifier()), "/me", None).await;

    answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), "Bearer");
    let detail = answer.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("Authorization: Bearer"), "{detail}");
}

#[tokio::test]
async fn a_request_with_another_authorization_scheme_gets_401() {
    let issuer = TestIssuer::new();

    let answer = get_with(app(issuer.verifier()), "/me", Some("Basic dXNlcjpwYXNz")).await;

    answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), "Bearer");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[], FIVE_MINUTES);

    let answer = get_with(
        app(issuer.verifier()),
        "/me",
        Some(&format!("bearer {token}")),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test]
async fn an_expired_token_gets_401_saying_so_in_the_problem_and_the_challenge() {
    let issuer = TestIssuer::new();
    let token = issuer.issue_with(&Claims {
        exp: now() - 120,
        ..issuer.claims("user-1", &[Role::Customer])
    });

    let answer = get_with(app(issuer.verifier()), "/me", Some(&bearer(&token))).await;

    answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert!(
        answer.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );
    let challenge = answer.header(header::WWW_AUTHENTICATE);
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    assert!(
        challenge.contains("error_description=\"The access token has expired"),
        "{challenge}"
    );
    assert!(!answer.text().contains(&token), "the token is never echoed");
}

#[tokio::test]
async fn a_customer_on_an_ops_route_gets_403() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[Role::Customer], FIVE_MINUTES);

    let answer = get_with(app(issuer.verifier()), "/refunds", Some(&bearer(&token))).await;

    answer.assert_problem(StatusCode::FORBIDDEN);
    let detail = answer.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("`ops` role"), "{detail}");
}

#[tokio::test]
async fn ops_and_admins_pass_an_ops_route() {
    let issuer = TestIssuer::new();
    for role in [Role::Ops, Role::Admin] {
        let token = issuer.issue("user-1", &[role], FIVE_MINUTES);

        let answer = get_with(app(issuer.verifier()), "/refunds", Some(&bearer(&token))).await;

        assert_eq!(answer.status, StatusCode::OK, "{role}: {}", answer.text());
    }
}

#[tokio::test]
async fn a_guest_capable_route_sees_no_user_without_authorization() {
    let issuer = TestIssuer::new();

    let answer = get_with(app(issuer.verifier()), "/cart", None).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "guest");
}

#[tokio::test]
async fn a_guest_capable_route_sees_the_user_of_a_valid_token() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[Role::Customer], FIVE_MINUTES);

    let answer = get_with(app(issuer.verifier()), "/cart", Some(&bearer(&token))).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "user-1");
}

#[tokio::test]
async fn a_guest_capable_route_still_rejects_a_bad_token() {
    let issuer = TestIssuer::new();
    let stranger = TestIssuer::new();
    let token = stranger.issue("user-1", &[Role::Customer], FIVE_MINUTES);

    let answer = get_with(app(issuer.verifier()), "/cart", Some(&bearer(&token))).await;

    answer.assert_problem(StatusCode::UNAUTHORIZED);
    assert!(
        answer
            .header(header::WWW_AUTHENTICATE)
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn a_router_without_verifier_answers_500_even_to_guests() {
    let issuer = TestIssuer::new();
    let token = issuer.issue("user-1", &[Role::Customer], FIVE_MINUTES);

    for (uri, authorization) in [("/me", Some(bearer(&token))), ("/cart", None)] {
        let answer = get_with(routes(), uri, authorization.as_deref()).await;

        answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
    }
}

// ---------------------------------------------------------------------------------------------
// Roles, configuration, keys
// ---------------------------------------------------------------------------------------------

#[test]
fn roles_are_lowercase_words_in_tokens_and_text() {
    for role in Role::ALL {
        let name = role.to_string();
        assert_eq!(name.parse::<Role>(), Ok(role));
        assert_eq!(serde_json::to_value(role).expect("JSON"), json!(name));
    }
    assert_eq!(Role::Merchandiser.to_string(), "merchandiser");
    assert!("Admin".parse::<Role>().is_err());
    assert!("root".parse::<Role>().is_err());
}

#[test]
fn admin_holds_every_role_and_others_only_their_own() {
    let user = |roles: &[Role]| CurrentUser::from(TestIssuer::new().claims("user-1", roles));

    let admin = user(&[Role::Admin]);
    assert!(Role::ALL.into_iter().all(|role| admin.has_role(role)));

    let merchandiser = user(&[Role::Merchandiser]);
    assert!(merchandiser.has_role(Role::Merchandiser));
    assert!(merchandiser.require(Role::Ops).is_err());
    assert!(matches!(
        merchandiser.require(Role::Customer),
        Err(AuthError::Forbidden(Role::Customer))
    ));
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    auth: AuthConfig,
}

#[test]
fn the_command_line_defaults_to_identitys_issuer_and_audience() {
    Cli::command().debug_assert();

    let cli = Cli::try_parse_from(["bazaar"]).expect("no flags needed");

    assert_eq!(cli.auth, AuthConfig::default());
    assert_eq!(cli.auth.jwt_issuer, "bazaar-identity");
    assert_eq!(cli.auth.jwt_audience, "bazaar");
    assert_eq!(cli.auth.jwt_leeway_secs, 30);
}

#[test]
fn the_command_line_takes_either_a_jwks_url_or_a_jwks_file() {
    let cli = Cli::try_parse_from([
        "bazaar",
        "--jwks-url",
        "http://identity/.well-known/jwks.json",
        "--jwt-leeway-secs",
        "5",
    ])
    .expect("valid flags");
    assert_eq!(
        cli.auth.jwks_url.map(|url| url.to_string()).as_deref(),
        Some("http://identity/.well-known/jwks.json")
    );
    assert_eq!(cli.auth.jwt_leeway_secs, 5);

    assert!(Cli::try_parse_from(["bazaar", "--jwks-url", "not a url"]).is_err());
    assert!(
        Cli::try_parse_from([
            "bazaar",
            "--jwks-url",
            "http://identity/.well-known/jwks.json",
            "--jwks-file",
            "/etc/bazaar/jwks.json",
        ])
        .is_err()
    );
}

#[tokio::test]
async fn a_signing_key_survives_a_pem_round_trip_with_the_same_kid() {
    let signer = TokenSigner::generate().expect("key");
    let pem = signer.to_pkcs8_pem().expect("PEM");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));

    let restored = TokenSigner::from_pkcs8_pem(&pem).expect("read back");

    assert_eq!(
        restored.kid(),
        signer.kid(),
        "the kid is the key's thumbprint"
    );
    let verifier = Verifier::new(
        &AuthConfig::default(),
        JwkSet {
            keys: vec![signer.public_jwk()],
        },
    )
    .expect("verifier");
    let claims = Claims::new("bazaar-identity", "bazaar", "user-1", vec![], FIVE_MINUTES);
    verifier
        .verify(&restored.sign(&claims).expect("token"))
        .await
        .expect("restored key signs like the original");
}

#[test]
fn the_published_jwk_is_an_ed25519_signature_key_with_its_kid() {
    let signer = TokenSigner::generate().expect("key");

    let jwk = serde_json::to_value(signer.public_jwk()).expect("JSON");

    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], signer.kid());
    assert!(jwk.get("d").is_none(), "no private part");
}
