//! Members as the till shows them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub member_id: String,
    pub name: String,
    /// Full phone number; leave the terminal only masked (see [`mask_phone`]).
    pub phone: String,
    #[serde(default)]
    pub card_no: Option<String>,
    #[serde(default)]
    pub tier: String,
    #[serde(default)]
    pub points: i64,
}

/// A member as shown on screen and on receipts: the phone masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub member_id: String,
    pub name: String,
    pub phone_masked: String,
    pub card_no: Option<String>,
    pub tier: String,
    pub points: i64,
    /// Lifetime points (the basis of tiers), where the till computed them.
    #[serde(default)]
    pub lifetime_points: i64,
    /// The next tier and the lifetime points still missing to reach it.
    #[serde(default)]
    pub next_tier: Option<String>,
    #[serde(default)]
    pub points_to_next_tier: Option<i64>,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView {
            member_id: m.member_id.clone(),
            name: m.name.clone(),
            phone_masked: mask_phone(&m.phone),
            card_no: m.card_no.clone(),
            tier: m.tier.clone(),
            points: m.points,
            lifetime_points: 0,
            next_tier: None,
            points_to_next_tier: None,
        }
    }
}

/// `13812341234` → `138****1234`; short numbers keep only their last 4 digits visible.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let n = chars.len();
    if n >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else if n > 4 {
        let tail: String = chars[n - 4..].iter().collect();
        format!("{}{tail}", "*".repeat(n - 4))
    } else {
        "*".repeat(n)
    }
}

/// How a member query is read: a full mobile number, its last 4 digits, a card number, or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberQuery {
    Phone(String),
    PhoneSuffix(String),
    Card(String),
    Name(String),
}

pub fn parse_query(q: &str) -> Option<MemberQuery> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let digits = q.chars().all(|c| c.is_ascii_digit());
    Some(match (digits, q.len()) {
        (true, 11) => MemberQuery::Phone(q.to_string()),
        (true, 4) => MemberQuery::PhoneSuffix(q.to_string()),
        (true, _) => MemberQuery::Card(q.to_string()),
        (false, _) => MemberQuery::Name(q.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_queries() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("+8613812341234"), "+86****1234");
        assert_eq!(mask_phone("123456"), "**3456");
        assert_eq!(
            parse_query("13812341234"),
            Some(MemberQuery::Phone("13812341234".into()))
        );
        assert_eq!(
            parse_query(" 1234 "),
            Some(MemberQuery::PhoneSuffix("1234".into()))
        );
        assert_eq!(
            parse_query("88000001"),
            Some(MemberQuery::Card("88000001".into()))
        );
        assert_eq!(parse_query("王"), Some(MemberQuery::Name("王".into())));
        assert_eq!(parse_query("  "), None);
    }
}
