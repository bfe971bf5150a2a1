//! Roles and what each allows. Each role holds everything of the one
//! below it: viewer (read) < moderator (+ decide) < admin (+ the rest).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// What an account may do. Ordered: a higher role allows all that a lower
/// one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the queue, ads and their history.
    Viewer,
    /// Also decides ads, overrides decisions and claims ads.
    Moderator,
    /// Also manages accounts and tokens, retags, promotes models and
    /// reads the audit log.
    Admin,
}

/// One thing a request may need to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The review queue, ads, their history.
    Read,
    /// Decide an ad in review, override a decision, claim an ad.
    Decide,
    /// Accounts (create, disable, roles, passwords) and API tokens.
    ManageAccounts,
    /// Put decided ads back to be judged again.
    Retag,
    /// The audit log.
    ReadAudit,
    /// Promote and roll back models.
    ManageModels,
}

impl Permission {
    /// Every permission (for `GET /admin/me`'s list of what the caller may
    /// do).
    pub const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Decide,
        Permission::ManageAccounts,
        Permission::Retag,
        Permission::ReadAudit,
        Permission::ManageModels,
    ];

    /// Its name in `GET /admin/me`'s `may` list.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Decide => "decide",
            Permission::ManageAccounts => "manage_accounts",
            Permission::Retag => "retag",
            Permission::ReadAudit => "read_audit",
            Permission::ManageModels => "manage_models",
        }
    }

    /// What it allows, to finish "your role may not …".
    pub fn description(self) -> &'static str {
        match self {
            Permission::Read => "read the queue and the ads",
            Permission::Decide => "decide ads",
            Permission::ManageAccounts => "manage accounts",
            Permission::Retag => "retag or delete ads",
            Permission::ReadAudit => "read the audit log",
            Permission::ManageModels => "manage models",
        }
    }
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Moderator, Role::Admin];

    /// The name stored in the database and used by the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// The lowest role that allows `permission`.
    pub fn least_for(permission: Permission) -> Role {
        match permission {
            Permission::Read => Role::Viewer,
            Permission::Decide => Role::Moderator,
            Permission::ManageAccounts
            | Permission::Retag
            | Permission::ReadAudit
            | Permission::ManageModels => Role::Admin,
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        self >= Role::least_for(permission)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthError;

    /// `viewer`, `moderator` or `admin`, in any case, surrounding spaces
    /// ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| AuthError::UnknownRole(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_PERMISSIONS: [Permission; 6] = Permission::ALL;

    #[test]
    fn a_viewer_reads_and_nothing_else() {
        for permission in ALL_PERMISSIONS {
            assert_eq!(
                Role::Viewer.allows(permission),
                permission == Permission::Read,
                "{permission:?}"
            );
        }
    }

    #[test]
    fn a_moderator_also_decides() {
        for permission in ALL_PERMISSIONS {
            assert_eq!(
                Role::Moderator.allows(permission),
                matches!(permission, Permission::Read | Permission::Decide),
                "{permission:?}"
            );
        }
    }

    #[test]
    fn an_admin_may_do_everything() {
        for permission in ALL_PERMISSIONS {
            assert!(Role::Admin.allows(permission), "{permission:?}");
        }
    }

    #[test]
    fn each_role_holds_what_the_one_below_holds() {
        for pair in Role::ALL.windows(2) {
            let (lower, higher) = (pair[0], pair[1]);
            assert!(lower < higher);
            for permission in ALL_PERMISSIONS {
                assert!(!lower.allows(permission) || higher.allows(permission));
            }
        }
    }

    #[test]
    fn names_round_trip_as_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).expect("serialise");
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).expect("parse"), role);
        }
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert!(serde_json::from_str::<Role>("\"Admin\"").is_err());
    }

    #[test]
    fn an_unknown_role_says_which_exist() {
        let error = "owner".parse::<Role>().expect_err("unknown");
        assert_eq!(error, AuthError::UnknownRole("owner".into()));
        let message = error.to_string();
        assert!(message.contains("\"owner\""), "{message}");
        assert!(message.contains("viewer, moderator or admin"), "{message}");
        assert!("".parse::<Role>().is_err());
    }
}
