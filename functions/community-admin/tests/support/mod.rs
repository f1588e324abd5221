//! The admin route tests' setting: an admin, a user, helpers that create
//! through the API and read the tables as superuser (each file uses a subset).
#![allow(dead_code)]

use serde_json::{json, Value};
use testkit::tokens::TokenBuilder;
use testkit::{TestStack, TestUser};
use uuid::Uuid;

pub struct Setup {
    pub stack: TestStack,
    pub admin: String,
    /// A signed-in user who is not an admin (and owns any seeded renders).
    pub user: TestUser,
}

pub async fn setup() -> Setup {
    let stack = TestStack::spawn().await;
    let admin_user = stack.create_user().await;
    let admin = TokenBuilder::hs256().user_id(admin_user.id).admin().build();
    let user = stack.create_user().await;
    Setup { stack, admin, user }
}

impl Setup {
    /// Calls the admin function with the admin's token; `path` is under `/api/v1`.
    pub async fn as_admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let reply = self.stack.reply(community_admin::handle, method, path, Some(&self.admin), body).await;
        assert_eq!(reply.header("cache-control"), "private, no-store", "{method} {path}");
        (reply.status, reply.body)
    }

    /// Creates a collection as admin and returns its id.
    pub async fn collection(&self, body: Value) -> Uuid {
        let (status, created) = self.as_admin("POST", "/admin/community/collections", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["data"]["id"].as_str().unwrap().parse().unwrap()
    }

    /// Adds an item as admin and returns its id.
    pub async fn item(&self, collection: Uuid, body: Value) -> Uuid {
        let path = format!("/admin/community/collections/{collection}/items");
        let (status, created) = self.as_admin("POST", &path, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["data"]["id"].as_str().unwrap().parse().unwrap()
    }

    /// A published collection holding one external image.
    pub async fn shelf(&self, title: &str, extra: Value) -> Uuid {
        let mut body = json!({"title": title, "isPublished": true});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let id = self.collection(body).await;
        self.item(id, json!({"externalImageUrl": format!("https://cdn.example.com/{id}.jpg")})).await;
        id
    }

    /// `GET /community` as an anonymous visitor: the `data` object.
    pub async fn public_page(&self) -> Value {
        let (status, body) = self.stack.call(community::handle, "GET", "/community", None, None).await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    pub async fn public_titles(&self) -> Vec<String> {
        let page = self.public_page().await;
        page["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect()
    }

    /// Everything in the community tables, to prove a refused call changed nothing.
    pub async fn snapshot(&self) -> String {
        let row = self
            .stack
            .app
            .admin()
            .query_one(
                "select coalesce((select json_agg(c order by c.id)::text from public.community_collections c), '')
                     || coalesce((select json_agg(i order by i.id)::text from public.community_items i), '')",
                &[],
            )
            .await
            .unwrap();
        row.get(0)
    }

    pub async fn counts(&self) -> (i64, i64) {
        let app = &self.stack.app;
        (app.count("public.community_collections").await, app.count("public.community_items").await)
    }
}

pub fn details(body: &Value) -> &serde_json::Map<String, Value> {
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{body}");
    body["error"]["details"].as_object().unwrap_or_else(|| panic!("details expected: {body}"))
}
