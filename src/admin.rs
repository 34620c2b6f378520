//! `bazaar create-admin`: makes the first admin, who can then grant roles over the API.
//!
//! The password never appears on the command line (where shell history and `ps` would keep it): it is
//! read from `BAZAAR_ADMIN_PASSWORD` (e.g. from a Kubernetes Secret in a Job) or from standard input.

use std::io::BufRead;

use bazaar_identity::IdentityConfig;
use bazaar_identity::admin::{AdminOutcome, create_admin};
use bazaar_platform::config::DatabaseConfig;
use bazaar_platform::runtime;

/// Variable holding the new admin's password; standard input is read when it is unset.
const PASSWORD_VAR: &str = "BAZAAR_ADMIN_PASSWORD";

#[derive(clap::Args, Debug)]
pub struct CreateAdminArgs {
    /// E-mail address of the admin. An existing account with it is given the admin role instead.
    #[arg(long, env = "BAZAAR_ADMIN_EMAIL", value_name = "EMAIL")]
    pub email: String,

    /// Name of the new account.
    #[arg(long, env = "BAZAAR_ADMIN_NAME", default_value = "Administrator")]
    pub name: String,

    #[command(flatten)]
    pub db: DatabaseConfig,

    #[command(flatten)]
    pub identity: IdentityConfig,
}

pub async fn run(args: CreateAdminArgs) -> anyhow::Result<()> {
    runtime::migrate(&[&bazaar_identity::COMPONENT], &args.db).await?;
    let schema = args.db.schema_for(bazaar_identity::COMPONENT.name);
    let url = args.db.url_for(bazaar_identity::COMPONENT.name)?;
    let pool = bazaar_platform::db::pool(bazaar_identity::COMPONENT.name, &url, &schema, 2)?;
    let outcome = create_admin(
        &pool,
        &args.identity,
        &args.email,
        &args.name,
        read_password,
    )
    .await
    .map_err(|error| match error {
        bazaar_identity::IdentityError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    })?;
    pool.close().await;
    match outcome {
        AdminOutcome::Created(id) => println!("created admin {} (user id {id})", args.email),
        AdminOutcome::Promoted(id) => {
            println!(
                "{} had an account (user id {id}); it now holds the admin role",
                args.email
            )
        }
    }
    Ok(())
}

fn read_password() -> std::io::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_VAR) {
        return Ok(password);
    }
    eprintln!("password for the new admin ({PASSWORD_VAR} is unset), then Enter:");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line)
}
