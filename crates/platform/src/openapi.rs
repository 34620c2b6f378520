//! The OpenAPI document of every component, made true in one place.
//!
//! Handlers describe what is theirs (their success bodies, and answers only they give: 404 for an unknown
//! id, 403 for a missing role, 409, 429). What the scaffold and the platform's extractors answer on every
//! operation is added here, from the operation's shape, so that no operation can forget it:
//!
//! - every error is `application/problem+json` with the [`Problem`] schema (an error a handler documented
//!   as `application/json` is corrected);
//! - 400 on every operation: a path or query parameter that does not parse, an unknown query parameter, or
//!   a NUL (`%00`) anywhere in the path or query ([`crate::edge`]);
//! - 503 with `Retry-After` on every operation: overload or a database outage ([`Problem::from_db`]);
//! - with a JSON body: 400 (malformed), 413 (over the body limit), 415 (not JSON), 422 (fields that break a
//!   rule, or hold a NUL);
//! - with path or query parameters: 422 (a parameter that parses but breaks a rule: a SKU of the wrong
//!   form, a `limit` out of range), and with a templated path, 404 (what the path names does not exist, or
//!   is not the caller's);
//! - with `security`: 401 with `WWW-Authenticate`, and the `bearer` scheme (a JWT from identity).
//!
//! Operation-specific answers are added in the handler's `#[utoipa::path]` with the one-line response
//! types below ([`Forbidden`], [`Conflict`], [`TooManyRequests`], and [`NotFound`] for a path without
//! parameters).

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, Content, Header, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::problem::{FieldError, PROBLEM_JSON, Problem};

/// Name of the security scheme operations refer to with `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";

/// An error answer: problem+json with the [`Problem`] schema.
pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(RefOr::Ref(Ref::from_schema_name(Problem::name())))),
        )
        .build()
}

/// An error answer that tells the client when to retry (`Retry-After`, in seconds).
pub fn retry_response(description: &str) -> Response {
    let mut response = problem_response(description);
    let seconds = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .build();
    let mut header = Header::new(seconds);
    header.description = Some("Seconds to wait before retrying.".to_owned());
    response.headers.insert("Retry-After".to_owned(), header);
    response
}

/// Completes `document` as the module docs say. Idempotent.
pub fn complete(document: &mut OpenApi) {
    let mut secured = false;
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            secured |= complete_operation(operation, path);
        }
    }
    let components = document
        .components
        .get_or_insert_with(|| ComponentsBuilder::new().build());
    components
        .schemas
        .insert(Problem::name().into_owned(), Problem::schema());
    components
        .schemas
        .insert(FieldError::name().into_owned(), FieldError::schema());
    if secured && !components.security_schemes.contains_key(BEARER) {
        components.security_schemes.insert(
            BEARER.to_owned(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from identity (`POST /api/auth/login`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Completes one operation; says whether it needs a token.
fn complete_operation(operation: &mut Operation, path: &str) -> bool {
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| {
        p.iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
    });
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if status.starts_with('4') || status.starts_with('5') || status == "default" {
            // Every error is a problem, whatever the handler wrote.
            if let Some(content) = response.content.shift_remove("application/json") {
                response.content.insert(PROBLEM_JSON.to_owned(), content);
            }
            if response.content.is_empty() {
                response.content.insert(
                    PROBLEM_JSON.to_owned(),
                    Content::new(Some(RefOr::Ref(Ref::from_schema_name(Problem::name())))),
                );
            }
        }
    }
    let mut add = |status: &str, response: Response| {
        responses
            .entry(status.to_owned())
            .or_insert(RefOr::T(response));
    };
    add(
        "400",
        problem_response(
            "Bad request: a path or query parameter that does not parse or is unknown, a NUL (%00) in \
             the path or query, or a body that is not valid JSON",
        ),
    );
    add(
        "503",
        retry_response(
            "Overloaded, or a dependency (the database) is unreachable; retry after `Retry-After`",
        ),
    );
    if operation.request_body.is_some() {
        add(
            "413",
            problem_response("The body is larger than the server's limit"),
        );
        add(
            "415",
            problem_response("The body is not `application/json`"),
        );
        add(
            "422",
            problem_response(
                "The body (or a parameter) parsed but breaks a rule (`errors` names each field), or a \
                 string in the body holds a NUL (U+0000)",
            ),
        );
    }
    if has_parameters && operation.request_body.is_none() {
        add(
            "422",
            problem_response(
                "A parameter that parses but breaks a rule (`errors` names it), e.g. a SKU of the wrong \
                 form or a `limit` out of range",
            ),
        );
    }
    if path.contains('{') {
        add(
            "404",
            problem_response("What the path names does not exist (or is not yours)"),
        );
    }
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    if secured {
        let mut unauthorized =
            problem_response("No valid access token (missing, expired, or not ours)");
        let challenge = ObjectBuilder::new().schema_type(Type::String).build();
        unauthorized
            .headers
            .insert("WWW-Authenticate".to_owned(), Header::new(challenge));
        add("401", unauthorized);
    }
    secured
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $description:literal, $build:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([($status.to_owned(), RefOr::T($build($description)))])
                }
            }
        )*
    };
}

error_responses! {
    /// 403: the caller is signed in but lacks the role. `responses((status = 200, ...), Forbidden)`.
    Forbidden => "403", "Signed in, but without the role this needs", problem_response;
    /// 404: what the path names does not exist (or is not the caller's).
    NotFound => "404", "No such resource (or not yours)", problem_response;
    /// 409: the request conflicts with the resource's current state.
    Conflict => "409", "Conflicts with the current state", problem_response;
    /// 422: input that parsed but breaks a rule (for operations without a JSON body, e.g. query rules).
    Unprocessable => "422", "Input that breaks a rule; `errors` names each field", problem_response;
    /// 429: too many attempts; retry after `Retry-After`.
    TooManyRequests => "429", "Too many attempts; retry after `Retry-After`", retry_response;
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    fn document(operation: Operation) -> OpenApi {
        OpenApiBuilder::new()
            .paths(
                PathsBuilder::new().path("/api/x/{id}", PathItem::new(HttpMethod::Post, operation)),
            )
            .build()
    }

    fn responses(document: &OpenApi) -> BTreeMap<String, RefOr<Response>> {
        document.paths.paths["/api/x/{id}"]
            .post
            .clone()
            .expect("post")
            .responses
            .responses
    }

    #[test]
    fn an_error_documented_as_json_becomes_problem_json_and_the_scaffolds_answers_are_added() {
        let operation = OperationBuilder::new()
            .response(
                "404",
                ResponseBuilder::new()
                    .description("missing")
                    .content("application/json", Content::new(Some(Problem::schema())))
                    .build(),
            )
            .request_body(Some(RequestBodyBuilder::new().build()))
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
            .build();
        let mut document = document(operation);
        complete(&mut document);
        let responses = responses(&document);
        for status in ["400", "401", "404", "413", "415", "422", "503"] {
            let Some(RefOr::T(response)) = responses.get(status) else {
                panic!("{status} documented");
            };
            assert_eq!(
                response.content.keys().collect::<Vec<_>>(),
                [PROBLEM_JSON],
                "{status}"
            );
        }
        let Some(RefOr::T(unavailable)) = responses.get("503") else {
            panic!("503");
        };
        assert!(unavailable.headers.contains_key("Retry-After"));
        let components = document.components.expect("components");
        assert!(components.schemas.contains_key("Problem"));
        assert!(components.security_schemes.contains_key(BEARER));
    }

    #[test]
    fn an_operation_without_body_or_token_gets_no_body_or_token_answers() {
        let mut document = document(OperationBuilder::new().build());
        complete(&mut document);
        let responses = responses(&document);
        assert!(responses.contains_key("400") && responses.contains_key("503"));
        for status in ["401", "413", "415", "422"] {
            assert!(!responses.contains_key(status), "{status}");
        }
    }
}
