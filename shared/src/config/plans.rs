//! Subscription plans, keyed by Stripe price id. A profile's plan is the one
//! whose price id matches `profiles.price_id` while `has_access` is true;
//! everyone else is on the free plan.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub id: String,
    pub label: String,
    pub monthly_generations: i64,
    /// Stripe price ids that grant this plan (none for the free plan).
    #[serde(default, skip_serializing)]
    pub price_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PlanTable {
    paid: Vec<Plan>,
    free: Plan,
    /// Supabase's anonymous sign-ins (`is_anonymous: true`): no generations
    /// unless `PLANS` gives them an allowance, or anyone could script
    /// unlimited free quotas by signing in anonymously again and again.
    anonymous: Plan,
}

/// The `PLANS` variable: `{"free": {...}, "paid": [{..., "priceIds": [...]}],
/// "anonymous": {...}}` (`anonymous` optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlansDocument {
    free: Plan,
    paid: Vec<Plan>,
    anonymous: Option<Plan>,
}

fn no_anonymous_generations() -> Plan {
    Plan { id: "anonymous".into(), label: "Guest".into(), monthly_generations: 0, price_ids: vec![] }
}

impl Default for PlanTable {
    /// Defaults until `PLANS` names the real Stripe prices.
    fn default() -> Self {
        PlanTable {
            free: Plan { id: "free".into(), label: "Free".into(), monthly_generations: 3, price_ids: vec![] },
            paid: vec![
                Plan {
                    id: "weekly".into(),
                    label: "Weekly".into(),
                    monthly_generations: 20,
                    price_ids: vec!["price_weekly".into()],
                },
                Plan {
                    id: "monthly".into(),
                    label: "Monthly".into(),
                    monthly_generations: 100,
                    price_ids: vec!["price_monthly".into()],
                },
            ],
            anonymous: no_anonymous_generations(),
        }
    }
}

impl PlanTable {
    pub fn from_json(json: &str) -> Result<Self, String> {
        let document: PlansDocument = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let anonymous = document.anonymous.unwrap_or_else(no_anonymous_generations);
        let all = std::iter::once(&document.free).chain(&document.paid).chain(std::iter::once(&anonymous));
        if let Some(bad) = all.clone().find(|p| p.monthly_generations < 0) {
            return Err(format!("plan {} has a negative allowance", bad.id));
        }
        let mut ids: Vec<&str> = all.map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("plan ids must be unique".into());
        }
        Ok(PlanTable { free: document.free, paid: document.paid, anonymous })
    }

    pub fn free(&self) -> &Plan {
        &self.free
    }

    pub fn paid(&self) -> &[Plan] {
        &self.paid
    }

    pub fn anonymous(&self) -> &Plan {
        &self.anonymous
    }

    /// The plan a profile is on: a paid plan while its price grants access,
    /// otherwise the free plan, or the anonymous plan for an anonymous sign-in.
    pub fn resolve(&self, price_id: Option<&str>, has_access: bool, is_anonymous: bool) -> &Plan {
        let unpaid = if is_anonymous { &self.anonymous } else { &self.free };
        match price_id {
            Some(price) if has_access => {
                self.paid.iter().find(|plan| plan.price_ids.iter().any(|p| p == price)).unwrap_or(unpaid)
            }
            _ => unpaid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_requires_access_and_a_known_price() {
        let table = PlanTable::default();
        assert_eq!(table.resolve(Some("price_monthly"), true, false).monthly_generations, 100);
        assert_eq!(table.resolve(Some("price_weekly"), true, false).monthly_generations, 20);
        assert_eq!(table.resolve(Some("price_monthly"), false, false).id, "free");
        assert_eq!(table.resolve(Some("price_unknown"), true, false).id, "free");
        assert_eq!(table.resolve(None, true, false).monthly_generations, 3);
        // Anonymous sign-ins get nothing by default.
        assert_eq!(table.resolve(None, false, true).monthly_generations, 0);
        assert_eq!(table.resolve(Some("price_unknown"), true, true).id, "anonymous");
    }

    #[test]
    fn plans_override_from_json() {
        let table = PlanTable::from_json(
            r#"{"free":{"id":"free","label":"Free","monthlyGenerations":5},
                "paid":[{"id":"pro","label":"Pro","monthlyGenerations":500,"priceIds":["price_123"]}]}"#,
        )
        .unwrap();
        assert_eq!(table.resolve(Some("price_123"), true, false).id, "pro");
        assert_eq!(table.free().monthly_generations, 5);
        assert_eq!(table.anonymous().monthly_generations, 0, "no anonymous allowance unless given");
        let generous = PlanTable::from_json(
            r#"{"free":{"id":"free","label":"Free","monthlyGenerations":5}, "paid":[],
                "anonymous":{"id":"guest","label":"Guest","monthlyGenerations":1}}"#,
        )
        .unwrap();
        assert_eq!(generous.resolve(None, false, true).id, "guest");
    }

    #[test]
    fn plans_reject_negative_and_duplicate() {
        assert!(
            PlanTable::from_json(r#"{"free":{"id":"free","label":"F","monthlyGenerations":-1},"paid":[]}"#).is_err()
        );
        assert!(PlanTable::from_json(
            r#"{"free":{"id":"a","label":"F","monthlyGenerations":1},"paid":[{"id":"a","label":"P","monthlyGenerations":2}]}"#
        )
        .is_err());
    }
}
