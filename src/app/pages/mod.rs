//! One file per screen.

mod api_keys;
mod audit;
mod bulk_runs;
mod dashboard;
mod filters;
mod imports;
mod listener_log;
mod listener_test;
mod listeners;
mod login;
mod macros;
mod not_found;
mod opt_out;
mod teams;
mod user;
mod user_edit;
mod users;

pub use api_keys::{ApiKeyPage, ApiKeysPage, NewApiKeyPage};
pub use audit::AuditPageView;
pub use bulk_runs::BulkRunPage;
pub use dashboard::DashboardPage;
pub use filters::{EditFilterPage, FilterPage, FiltersPage, NewFilterPage};
pub use imports::{ImportPage, ImportReportPage};
pub use listener_log::ListenerLogPage;
pub use listeners::{ListenerPage, ListenersPage, NewListenerPage};
pub use login::LoginPage;
pub use macros::{MacroPage, MacrosPage, NewMacroPage};
pub use not_found::NotFound;
pub use opt_out::OptOutPage;
pub use teams::TeamsPage;
pub use user::UserPage;
pub use user_edit::{EditUserPage, NewUserPage};
pub use users::UsersPage;
