//! The identity vocabulary as types: a value of [`Email`], [`DisplayName`] or [`NewPassword`] has passed
//! the rules, so code past the HTTP edge never re-checks them. Each rule's message is written for the
//! person filling in the form.

use std::fmt;

use bazaar_platform::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user's id: a UUIDv7, the `sub` of their access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for UserId {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Self)
    }
}

/// An e-mail address, trimmed and lowercased, so that `Ann@Example.com` and `ann@example.com` are one
/// account. Only the shape is checked; whether mail arrives is not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
const MAX_EMAIL_LEN: usize = 254;

impl Email {
    /// The normalized address, or a message saying what is wrong with `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let email = text.trim().to_lowercase();
        let invalid = || "Enter an e-mail address such as ann@example.com.".to_owned();
        if email.is_empty() {
            return Err("Enter your e-mail address.".to_owned());
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(format!(
                "An e-mail address has at most {MAX_EMAIL_LEN} characters."
            ));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(invalid());
        };
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '@';
        if local.is_empty()
            || local.len() > 64
            || local.chars().any(bad_char)
            || domain.chars().any(bad_char)
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a user wants to be addressed: 1 to 100 characters, no control characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

const MAX_NAME_CHARS: usize = 100;

impl DisplayName {
    pub fn parse(text: &str) -> Result<Self, String> {
        let name = text.trim();
        if name.is_empty() {
            return Err("Enter your name.".to_owned());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("A name has at most {MAX_NAME_CHARS} characters."));
        }
        if name.chars().any(char::is_control) {
            return Err("A name cannot contain control characters such as line breaks.".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the rules for new passwords. Following NIST SP 800-63B, the rules are about
/// length, not composition: long passphrases are easy to remember and hard to guess.
pub struct NewPassword(String);

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing it cannot be used to tie up the server.
pub const MAX_PASSWORD_CHARS: usize = 128;

impl NewPassword {
    /// Checks `text` against the rules; `email` is the account's address, which must not be the password.
    pub fn parse(text: &str, email: Option<&Email>) -> Result<Self, String> {
        let chars = text.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "Use at least {MIN_PASSWORD_CHARS} characters (this one has {chars}); a few words make a good password."
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "Use at most {MAX_PASSWORD_CHARS} characters (this one has {chars})."
            ));
        }
        if text.trim().is_empty() {
            return Err("A password cannot be only spaces.".to_owned());
        }
        if email.is_some_and(|email| text.trim().to_lowercase() == email.as_str()) {
            return Err("Do not use your e-mail address as your password.".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// Collects the problems of every field of one request, so that a client learns all of them at once.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Records `field`'s problem, if any, and returns its value when valid.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The field errors, or `Ok` when there are none.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_so_that_case_and_spaces_do_not_make_a_second_account() {
        let email = Email::parse("  Ann.Lee@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ann.lee@example.com");
    }

    #[test]
    fn malformed_emails_are_refused_with_an_example() {
        for text in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@ex..com",
        ] {
            let message = Email::parse(text).expect_err(text);
            assert!(message.contains("e-mail"), "{text}: {message}");
        }
    }

    #[test]
    fn password_rules_say_what_to_do() {
        let email = Email::parse("ann@example.com").expect("valid");
        let short = NewPassword::parse("short", Some(&email)).expect_err("too short");
        assert!(
            short.contains("at least 10 characters (this one has 5)"),
            "{short}"
        );
        let long = NewPassword::parse(&"x".repeat(129), None).expect_err("too long");
        assert!(long.contains("at most 128"), "{long}");
        let own = NewPassword::parse("ANN@example.com", Some(&email)).expect_err("own address");
        assert!(own.contains("e-mail address"), "{own}");
        assert!(NewPassword::parse("           ", None).is_err());
        assert!(NewPassword::parse("correct horse battery staple", Some(&email)).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ann ").expect("valid").as_str(), "Ann");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"n".repeat(101)).is_err());
        assert!(DisplayName::parse("Ann\nLee").is_err());
    }
}
