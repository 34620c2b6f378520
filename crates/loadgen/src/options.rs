//! What a run is told: durations, think time, the journey mix and the test plan. Parsed from the command
//! line, so every error names what was expected.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written as `250ms`, `2s`, `1m`, `1h30m` or bare seconds (`90`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected a duration such as 250ms, 30s, 2m or 1h30m".into());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut units_seen = 0;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().map_err(|_| {
            format!("`{text}`: expected a number before each unit (250ms, 30s, 2m, 1h30m)")
        })?;
        number.clear();
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                Duration::from_millis(value)
            }
            'h' => Duration::from_secs(value * 3600),
            'm' => Duration::from_secs(value * 60),
            's' => Duration::from_secs(value),
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}` (use ms, s, m or h)"
                ));
            }
        };
        total += unit;
        units_seen += 1;
    }
    if !number.is_empty() || units_seen == 0 {
        return Err(format!(
            "`{text}`: a number needs a unit after it (250ms, 30s, 2m, 1h30m)"
        ));
    }
    Ok(total)
}

/// A path prefix served somewhere other than the base URL, `PREFIX=URL` (`/api/auth=http://127.0.0.1:8081`):
/// for a Bazaar whose components run as separate processes with no gateway in front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: String,
    pub url: String,
}

impl FromStr for Route {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = "expected PREFIX=URL, e.g. /api/auth=http://127.0.0.1:8081";
        let (prefix, url) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: {expected}"))?;
        let (prefix, url) = (prefix.trim(), url.trim().trim_end_matches('/'));
        if !prefix.starts_with('/') {
            return Err(format!(
                "`{text}`: the prefix must start with /; {expected}"
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "`{text}`: the URL must start with http:// or https://; {expected}"
            ));
        }
        Ok(Route {
            prefix: prefix.trim_end_matches('/').to_owned(),
            url: url.to_owned(),
        })
    }
}

/// How long a shopper pauses between two steps: a fixed time (`1s`) or a range picked from uniformly
/// (`500ms..3s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThinkTime {
    pub min: Duration,
    pub max: Duration,
}

impl FromStr for ThinkTime {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (min, max) = match text.split_once("..") {
            Some((min, max)) => (parse_duration(min)?, parse_duration(max)?),
            None => {
                let fixed = parse_duration(text)?;
                (fixed, fixed)
            }
        };
        if min > max {
            return Err(format!(
                "think time `{text}`: the minimum is above the maximum"
            ));
        }
        Ok(ThinkTime { min, max })
    }
}

impl fmt::Display for ThinkTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms..{}ms", self.min.as_millis(), self.max.as_millis())
    }
}

/// One kind of step a shopper takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The home page: the first page of products in the shopper's currency.
    Home,
    /// Switch currency (USD/EUR) and see the home page in it.
    SetCurrency,
    /// One product page, by slug.
    BrowseProduct,
    /// Add a stocked variant to the cart.
    AddToCart,
    /// The cart, priced with shipping to a destination.
    ViewCart,
    /// Check the cart out (adding a line first when it is empty).
    Checkout,
    /// Full-text search with a word from the catalog's titles.
    Search,
    /// Sign in again with the password (Argon2: deliberately slow).
    SignIn,
    /// The shopper's orders, and the latest one.
    TrackOrder,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Home,
        Step::SetCurrency,
        Step::BrowseProduct,
        Step::AddToCart,
        Step::ViewCart,
        Step::Checkout,
        Step::Search,
        Step::SignIn,
        Step::TrackOrder,
    ];

    /// The name in `--mix` and in the reports.
    pub fn key(self) -> &'static str {
        match self {
            Step::Home => "home",
            Step::SetCurrency => "set-currency",
            Step::BrowseProduct => "browse-product",
            Step::AddToCart => "add-to-cart",
            Step::ViewCart => "view-cart",
            Step::Checkout => "checkout",
            Step::Search => "search",
            Step::SignIn => "sign-in",
            Step::TrackOrder => "track-order",
        }
    }
}

/// How many times each step comes in one round of a shopper's journey (Locust-style weights; goose runs a
/// round's steps in random order, then starts another round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    weights: Vec<(Step, usize)>,
}

/// Online Boutique's load generator (home 1, set currency 2, browse product 10, add to cart 2, view cart 3,
/// checkout 1) plus search 2 and order tracking 1. Re-signing in is off by default: every shopper signs
/// in once when it starts (its own transaction in the report), as a real session does.
pub const DEFAULT_MIX: &str = "home=1,set-currency=2,browse-product=10,add-to-cart=2,view-cart=3,checkout=1,search=2,sign-in=0,track-order=1";

impl Mix {
    pub fn weight(&self, step: Step) -> usize {
        self.weights
            .iter()
            .find(|(s, _)| *s == step)
            .map_or(0, |(_, w)| *w)
    }

    /// Steps with a weight above zero, in a fixed order.
    pub fn steps(&self) -> impl Iterator<Item = (Step, usize)> + '_ {
        self.weights.iter().copied().filter(|(_, w)| *w > 0)
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `step=weight,...`; steps not named keep the default weight.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut weights = parse_pairs(DEFAULT_MIX).map_err(|e| format!("default mix: {e}"))?;
        for (step, weight) in parse_pairs(text)? {
            if let Some(entry) = weights.iter_mut().find(|(s, _)| *s == step) {
                entry.1 = weight;
            }
        }
        if weights.iter().all(|(_, w)| *w == 0) {
            return Err("the mix has no step with a weight above 0".into());
        }
        weights.sort();
        Ok(Mix { weights })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self
            .weights
            .iter()
            .map(|(s, w)| format!("{}={w}", s.key()))
            .collect();
        f.write_str(&text.join(","))
    }
}

fn parse_pairs(text: &str) -> Result<Vec<(Step, usize)>, String> {
    let mut pairs = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}`: expected step=weight, e.g. browse-product=10"))?;
        let step = Step::ALL
            .into_iter()
            .find(|s| s.key() == name.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = Step::ALL.iter().map(|s| s.key()).collect();
                format!("`{name}`: unknown step (one of {})", known.join(", "))
            })?;
        let weight: usize = weight
            .trim()
            .parse()
            .map_err(|_| format!("`{part}`: the weight must be a whole number, 0 or more"))?;
        if weight > 1000 {
            return Err(format!(
                "`{part}`: a weight above 1000 makes one round too long"
            ));
        }
        pairs.push((step, weight));
    }
    Ok(pairs)
}

/// Ramp up to `users`, hold, ramp down: goose's test plan (`users,seconds;...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub users: usize,
    pub ramp_up: Duration,
    pub hold: Duration,
    pub ramp_down: Duration,
}

impl Plan {
    /// The plan as goose's `--test-plan` takes it, in whole seconds (goose's own resolution).
    pub fn to_goose(&self) -> Result<String, String> {
        if self.users == 0 {
            return Err("at least one user is needed".into());
        }
        if self.hold.as_secs() == 0 {
            return Err("the hold must be at least 1s".into());
        }
        Ok(format!(
            "{users},{up};{users},{hold};0,{down}",
            users = self.users,
            up = self.ramp_up.as_secs(),
            hold = self.hold.as_secs(),
            down = self.ramp_down.as_secs()
        ))
    }

    /// The whole run, end to end.
    pub fn total(&self) -> Duration {
        Duration::from_secs(self.ramp_up.as_secs() + self.hold.as_secs() + self.ramp_down.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_path_prefix_and_a_url() {
        assert_eq!(
            "/api/auth=http://127.0.0.1:8081/".parse::<Route>(),
            Ok(Route {
                prefix: "/api/auth".into(),
                url: "http://127.0.0.1:8081".into()
            })
        );
        for wrong in ["/api/auth", "api/auth=http://x", "/api/auth=127.0.0.1:8081"] {
            assert!(wrong.parse::<Route>().is_err(), "{wrong}");
        }
    }

    #[test]
    fn durations_are_read_in_the_units_people_write() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("").is_err());
        assert!(
            parse_duration("5x")
                .expect_err("refused")
                .contains("unknown unit")
        );
        assert!(
            parse_duration("1m30")
                .expect_err("refused")
                .contains("needs a unit")
        );
    }

    #[test]
    fn think_time_is_fixed_or_a_range_with_min_not_above_max() {
        assert_eq!(
            "1s".parse::<ThinkTime>(),
            Ok(ThinkTime {
                min: Duration::from_secs(1),
                max: Duration::from_secs(1)
            })
        );
        assert_eq!(
            "500ms..3s".parse::<ThinkTime>(),
            Ok(ThinkTime {
                min: Duration::from_millis(500),
                max: Duration::from_secs(3)
            })
        );
        assert!(
            "3s..1s"
                .parse::<ThinkTime>()
                .expect_err("refused")
                .contains("above the maximum")
        );
    }

    #[test]
    fn the_default_mix_is_online_boutiques_plus_search_and_tracking() {
        let mix: Mix = "".parse().expect("the default mix");
        let weights: Vec<(&str, usize)> = mix.steps().map(|(s, w)| (s.key(), w)).collect();
        assert_eq!(
            weights,
            [
                ("home", 1),
                ("set-currency", 2),
                ("browse-product", 10),
                ("add-to-cart", 2),
                ("view-cart", 3),
                ("checkout", 1),
                ("search", 2),
                ("track-order", 1),
            ]
        );
        assert_eq!(mix.weight(Step::SignIn), 0);
    }

    #[test]
    fn a_mix_overrides_only_the_steps_it_names_and_refuses_what_it_cannot_read() {
        let mix: Mix = "sign-in=1, checkout=0".parse().expect("a mix");
        assert_eq!(mix.weight(Step::SignIn), 1);
        assert_eq!(mix.weight(Step::Checkout), 0);
        assert_eq!(mix.weight(Step::BrowseProduct), 10);
        assert!(
            "browse=10"
                .parse::<Mix>()
                .expect_err("refused")
                .contains("unknown step")
        );
        assert!(
            "home"
                .parse::<Mix>()
                .expect_err("refused")
                .contains("step=weight")
        );
        assert!(
            "home=-1"
                .parse::<Mix>()
                .expect_err("refused")
                .contains("whole number")
        );
        let none = Step::ALL.map(|s| format!("{}=0", s.key())).join(",");
        assert!(
            none.parse::<Mix>()
                .expect_err("refused")
                .contains("no step")
        );
        // What is printed parses back to the same mix.
        assert_eq!(mix.to_string().parse::<Mix>(), Ok(mix));
    }

    #[test]
    fn the_plan_ramps_up_holds_and_ramps_down_in_goose_terms() {
        let plan = Plan {
            users: 50,
            ramp_up: Duration::from_secs(10),
            hold: Duration::from_secs(60),
            ramp_down: Duration::from_secs(5),
        };
        let text = plan.to_goose().expect("a plan");
        assert_eq!(text, "50,10;50,60;0,5");
        assert!(text.parse::<goose::test_plan::TestPlan>().is_ok());
        assert_eq!(plan.total(), Duration::from_secs(75));
        let no_hold = Plan {
            hold: Duration::from_millis(500),
            ..plan.clone()
        };
        assert!(no_hold.to_goose().is_err());
        let nobody = Plan { users: 0, ..plan };
        assert!(nobody.to_goose().is_err());
    }
}
