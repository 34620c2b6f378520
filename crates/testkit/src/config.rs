//! A component's settings as the binary would parse them from an empty command line: defaults are written
//! once, in clap (`default_value_t`), and tests override the fields they care about:
//!
//! ```ignore
//! let config = PaymentConfig { max_tries: 2, ..bazaar_testkit::config::defaults() };
//! ```

/// clap's defaults of `T` (with the environment, as the binary reads it), through the platform's one
/// loader ([`bazaar_platform::config::clap_defaults`]).
///
/// # Panics
///
/// If `T` has a required setting without a default: a test bug, reported where it is made.
pub fn defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    bazaar_platform::config::clap_defaults::<T>()
        .unwrap_or_else(|e| panic!("clap's defaults of {}: {e}", std::any::type_name::<T>()))
}
