//! Shopper-written text: stored as written (trimmed) and served as plain text. Nothing here or anywhere
//! in the API renders HTML; a client shows the text as text (escaping is its job, as for any string).
//! What is refused: lengths outside the limits and control characters (other than newlines and tabs in
//! multi-line fields), which no honest review needs and which confuse terminals and logs.

use bazaar_platform::FieldError;

pub const TITLE_MAX: usize = 120;
pub const BODY_MAX: usize = 5000;
pub const REASON_MAX: usize = 500;
pub const NAME_MAX: usize = 100;

/// `value` trimmed, if it has `min..=max` characters and no forbidden control characters.
pub fn checked(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let value = value.trim();
    let error = |message: String| FieldError {
        field: field.to_owned(),
        message,
    };
    let length = value.chars().count();
    if length < min || length > max {
        return Err(error(format!("must have {min} to {max} characters")));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    if !value.chars().all(allowed) {
        return Err(error(if multiline {
            "must not contain control characters other than newlines and tabs".to_owned()
        } else {
            "must be one line without control characters".to_owned()
        }));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_limited_by_characters_not_bytes() {
        assert_eq!(
            checked("t", "  Good  ", 1, 5, false).expect("valid"),
            "Good"
        );
        assert!(
            checked("t", "ééééé", 1, 5, false).is_ok(),
            "5 characters, 10 bytes"
        );
        assert!(checked("t", "éééééé", 1, 5, false).is_err());
        assert!(checked("t", "   ", 1, 5, false).is_err(), "blank");
    }

    #[test]
    fn markup_is_kept_as_text_and_control_characters_are_refused() {
        assert_eq!(
            checked("b", "<script>alert(1)</script>", 0, 100, true).expect("valid"),
            "<script>alert(1)</script>",
            "stored as written; never rendered"
        );
        assert!(checked("b", "line one\nline two\tend", 0, 100, true).is_ok());
        assert!(checked("t", "line one\nline two", 0, 100, false).is_err());
        assert!(checked("b", "bell\u{7}", 0, 100, true).is_err());
    }
}
