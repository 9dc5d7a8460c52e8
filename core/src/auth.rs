//! Roles, what each may do, and which actions need a manager's override.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
    Installer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
            Role::Installer => "installer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "cashier" => Some(Role::Cashier),
            "manager" => Some(Role::Manager),
            "installer" => Some(Role::Installer),
            _ => None,
        }
    }
}

/// Things a user does at the till.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Sell,
    ReturnWithReceipt,
    OpenShift,
    CloseShift,
    PaidInOut,
    XReport,
    ConfigureDevices,
    /// Changing a line's price.
    PriceOverride,
    /// A line or order discount above the store's threshold.
    LargeDiscount,
    RefundWithoutReceipt,
    PostVoid,
    /// Opening the drawer without a sale.
    NoSale,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Sell => "sell",
            Action::ReturnWithReceipt => "return_with_receipt",
            Action::OpenShift => "open_shift",
            Action::CloseShift => "close_shift",
            Action::PaidInOut => "paid_in_out",
            Action::XReport => "x_report",
            Action::ConfigureDevices => "configure_devices",
            Action::PriceOverride => "price_override",
            Action::LargeDiscount => "large_discount",
            Action::RefundWithoutReceipt => "refund_without_receipt",
            Action::PostVoid => "post_void",
            Action::NoSale => "no_sale",
        }
    }
}

/// What a role may do on its own, what it may do with a manager's override, and what never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Allowed,
    NeedsManager,
    Denied,
}

pub fn permission(role: Role, action: Action) -> Permission {
    use Action::*;
    match role {
        Role::Manager => Permission::Allowed,
        Role::Installer => match action {
            ConfigureDevices => Permission::Allowed,
            _ => Permission::Denied,
        },
        Role::Cashier => match action {
            Sell | ReturnWithReceipt | OpenShift | CloseShift | PaidInOut | XReport => {
                Permission::Allowed
            }
            PriceOverride | LargeDiscount | RefundWithoutReceipt | PostVoid | NoSale => {
                Permission::NeedsManager
            }
            ConfigureDevices => Permission::Denied,
        },
    }
}

/// A signed-in user acting at the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: String,
    pub name: String,
    pub role: Role,
}

/// A recorded manager override: who asked, who approved, for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub action: Action,
    pub requested_by: String,
    pub approved_by: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{role} may not {action}", role = .0.as_str(), action = .1.as_str())]
    Denied(Role, Action),
    #[error("{action} needs a manager's approval (manager PIN)", action = .0.as_str())]
    ApprovalRequired(Action),
    #[error("the approver must be a manager")]
    ApproverNotManager,
}

/// Check that `actor` may perform `action`, using `approver` where a manager is needed.
/// Returns the override to record, if one was used.
pub fn authorize(
    actor: &Actor,
    approver: Option<&Actor>,
    action: Action,
    detail: &str,
) -> Result<Option<Override>, AuthError> {
    match permission(actor.role, action) {
        Permission::Allowed => Ok(None),
        Permission::Denied => Err(AuthError::Denied(actor.role, action)),
        Permission::NeedsManager => match approver {
            None => Err(AuthError::ApprovalRequired(action)),
            Some(a) if a.role != Role::Manager => Err(AuthError::ApproverNotManager),
            Some(a) => Ok(Some(Override {
                action,
                requested_by: actor.user_id.clone(),
                approved_by: a.user_id.clone(),
                detail: detail.to_string(),
            })),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: role.as_str().into(),
            name: role.as_str().into(),
            role,
        }
    }

    #[test]
    fn cashier_needs_manager_for_overrides_and_records_both_users() {
        let c = actor(Role::Cashier);
        let m = actor(Role::Manager);
        for a in [
            Action::PriceOverride,
            Action::LargeDiscount,
            Action::RefundWithoutReceipt,
            Action::PostVoid,
            Action::NoSale,
        ] {
            assert_eq!(
                authorize(&c, None, a, ""),
                Err(AuthError::ApprovalRequired(a))
            );
            assert_eq!(
                authorize(&c, Some(&c), a, ""),
                Err(AuthError::ApproverNotManager)
            );
            let o = authorize(&c, Some(&m), a, "x").unwrap().unwrap();
            assert_eq!(
                (o.requested_by.as_str(), o.approved_by.as_str()),
                ("cashier", "manager")
            );
        }
        assert_eq!(authorize(&c, None, Action::Sell, ""), Ok(None));
        assert_eq!(authorize(&m, None, Action::PostVoid, ""), Ok(None));
    }

    #[test]
    fn installer_only_configures_devices() {
        let i = actor(Role::Installer);
        let m = actor(Role::Manager);
        assert_eq!(authorize(&i, None, Action::ConfigureDevices, ""), Ok(None));
        assert_eq!(
            authorize(&i, Some(&m), Action::Sell, ""),
            Err(AuthError::Denied(Role::Installer, Action::Sell))
        );
        assert_eq!(
            authorize(&actor(Role::Cashier), None, Action::ConfigureDevices, ""),
            Err(AuthError::Denied(Role::Cashier, Action::ConfigureDevices))
        );
    }
}
