//! `TestApp`: a fresh migrated database, the functions' pool on it (through
//! PgBouncer when enabled) and a token verifier, plus helpers to make users.

use crate::database::TestDatabase;
use crate::tokens::{TokenBuilder, TEST_JWT_SECRET};
use shared::auth::{AuthConfig, TokenVerifier, VerifiedUser};
use shared::db::Database;
use tokio_postgres::Client;
use uuid::Uuid;

pub struct TestApp {
    pub database: TestDatabase,
    /// The pool the functions would use: role `authenticator`, no table rights.
    pub db: Database,
    pub verifier: TokenVerifier,
    admin: Client,
}

/// A signed-in user: their id, an access token and the verified identity.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: Uuid,
    pub token: String,
    pub identity: VerifiedUser,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_pool_size(8).await
    }

    pub async fn spawn_with_pool_size(max_size: usize) -> Self {
        let database = TestDatabase::migrated().await;
        let db = Database::connect_lazy(&database.app_url(), max_size)
            .expect("build pool")
            .with_statement_mode(database.server().statements);
        let verifier = TokenVerifier::new(AuthConfig {
            jwt_secret: Some(TEST_JWT_SECRET.to_string()),
            jwks_url: None,
            issuer: None,
        });
        let admin = database.admin().await;
        TestApp { database, db, verifier, admin }
    }

    /// A superuser connection to the test database (setup and inspection only).
    pub fn admin(&self) -> &Client {
        &self.admin
    }

    /// Signs a user up the way Supabase Auth does: a row in `auth.users`,
    /// which the triggers turn into a profile and a My Favorites collection.
    pub async fn create_user(&self) -> TestUser {
        let id = Uuid::new_v4();
        let email = format!("{}@example.test", id.simple());
        self.admin
            .execute("insert into auth.users (id, email) values ($1, $2)", &[&id, &email])
            .await
            .expect("insert auth user");
        let token = TokenBuilder::hs256().user_id(id).email(&email).build();
        let identity = self.verifier.verify(&token).await.expect("verify fresh token");
        TestUser { id, token, identity }
    }

    /// Puts a user on a paid plan (as the billing integration would).
    pub async fn set_plan(&self, user: &TestUser, price_id: Option<&str>, has_access: bool) {
        self.admin
            .execute(
                "update public.profiles set price_id = $2, has_access = $3 where id = $1",
                &[&user.id, &price_id, &has_access],
            )
            .await
            .expect("set plan");
    }

    /// A finished job and its render with `variants` images, inserted as the
    /// service would after a successful generation. Returns (job id, render id).
    pub async fn seed_render(&self, user: &TestUser, variants: i32) -> (Uuid, Uuid) {
        let job_id: Uuid = self
            .admin
            .query_one(
                "insert into public.generation_jobs (owner_id, mode, room_type, style, status, completed_at, prompt)
                 values ($1, 'imagine', 'bedroom', 'modern', 'succeeded', now(), 'a calm bedroom') returning id",
                &[&user.id],
            )
            .await
            .expect("seed job")
            .get(0);
        let render_id: Uuid = self
            .admin
            .query_one(
                "insert into public.renders (job_id, owner_id, mode, room_type, style) values ($1, $2, 'imagine', 'bedroom', 'modern') returning id",
                &[&job_id, &user.id],
            )
            .await
            .expect("seed render")
            .get(0);
        for idx in 0..variants {
            let path = format!("renders/{render_id}/{idx}.jpg");
            self.admin
                .execute(
                    "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, $3, $4)",
                    &[&render_id, &user.id, &idx, &path],
                )
                .await
                .expect("seed variant");
        }
        (job_id, render_id)
    }

    /// Counts rows of a table as superuser (to check that nothing changed).
    pub async fn count(&self, table: &str) -> i64 {
        self.admin.query_one(&format!("select count(*) from {table}"), &[]).await.expect("count").get(0)
    }
}
