//! The run's times: a [`Timestamp`] inside the code, RFC 3339 text (as Step Functions writes
//! `$$.Execution.StartTime`) only where a payload is serialized or read.

use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A moment of the run. Serialized as RFC 3339 in UTC (`2026-11-26T12:00:00.123Z`); reading
/// anything else is a parse error that names the field, like any other bad payload value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    /// The time `duration` later.
    pub fn after(self, duration: Duration) -> Self {
        Self(self.0 + duration)
    }

    /// How long from this moment to `later`; zero when `later` is not later.
    pub fn until(self, later: SystemTime) -> Duration {
        later.duration_since(self.0).unwrap_or_default()
    }

    /// How long from `earlier` to this moment; zero when `earlier` is not earlier.
    pub fn since(self, earlier: SystemTime) -> Duration {
        self.0.duration_since(earlier).unwrap_or_default()
    }

    /// The time as RFC 3339 text, for messages.
    pub fn to_rfc3339(self) -> String {
        DateTime::from(self.0)
            .fmt(Format::DateTime)
            .expect("a SystemTime after the epoch formats as RFC 3339")
    }

    /// Reads RFC 3339 text, such as Step Functions' `$$.Execution.StartTime`.
    pub fn parse(text: &str) -> Option<Self> {
        DateTime::from_str(text, Format::DateTime)
            .ok()
            .and_then(|time| SystemTime::try_from(time).ok())
            .map(Self)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        Self(time)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_round_trips_through_its_rfc3339_text() {
        let time = Timestamp::parse("2026-11-26T12:00:00.123Z").unwrap();
        assert_eq!(
            serde_json::to_string(&time).unwrap(),
            "\"2026-11-26T12:00:00.123Z\""
        );
        let read: Timestamp = serde_json::from_str("\"2026-11-26T12:00:00.123Z\"").unwrap();
        assert_eq!(read, time);
        let error = serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`yesterday` is not an RFC 3339 time"),
            "{error}"
        );
    }
}
