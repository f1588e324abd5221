//! `make demo` (with `make dev` running): walks a user journey from the
//! outside, over HTTP only — sign a token for a demo user, upload a photo,
//! submit a redesign, wait for it with a progress line, favourite the render,
//! list renders and usage, and print the image URLs.

use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

/// Bob, on the Weekly plan in dev/seed.sql.
const DEMO_USER: &str = "00000000-0000-4000-a000-000000000b0b";

type Failure = Box<dyn std::error::Error>;

struct Client {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<(u16, Value), Failure> {
        let mut request = self.http.request(method, format!("{}{path}", self.api)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Result<Value, Failure> {
        let (status, json) = self.call(method.clone(), path, body).await?;
        if status != want {
            return Err(format!("{method} {path} answered {status}: {json}").into());
        }
        Ok(json["data"].clone())
    }
}

fn sign_token(secret: &str) -> Result<String, Failure> {
    // As Supabase Auth issues them: `iss` names the project's auth server.
    let issuer = format!("{}/auth/v1", std::env::var("SUPABASE_URL").unwrap_or_default().trim_end_matches('/'));
    let claims = json!({
        "iss": issuer, "is_anonymous": false,
        "sub": DEMO_USER, "aud": "authenticated", "role": "authenticated",
        "email": "bob@demo.local", "exp": chrono::Utc::now().timestamp() + 3600,
    });
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    Ok(jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key)?)
}

/// A 640x480 "room": a floor, a wall and a window, so the output is visibly derived.
fn room_photo() -> Result<Vec<u8>, Failure> {
    let image = image::RgbImage::from_fn(640, 480, |x, y| match (x, y) {
        (400..=560, 80..=260) => image::Rgb([180, 210, 240]),
        (_, 330..) => image::Rgb([120, 90, 60]),
        _ => image::Rgb([225, 220, 205]),
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Jpeg)?;
    Ok(bytes.into_inner())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Failure> {
    let api = std::env::var("API_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:9000/api/v1".into());
    let secret = std::env::var("SUPABASE_JWT_SECRET").map_err(|_| "SUPABASE_JWT_SECRET is not set (see .env)")?;
    let client = Client { http: reqwest::Client::new(), api, token: sign_token(&secret)? };
    use reqwest::Method;

    println!("1. signed a token for the demo user {DEMO_USER} (Weekly plan)");
    let photo = room_photo()?;
    let ticket = client
        .expect(Method::POST, "/uploads", Some(json!({"contentType": "image/jpeg", "sizeBytes": photo.len()})), 200)
        .await?;
    let mut put = client.http.put(ticket["uploadUrl"].as_str().ok_or("no uploadUrl")?).body(photo);
    for (name, value) in ticket["headers"].as_object().ok_or("no headers")? {
        put = put.header(name, value.as_str().unwrap_or_default());
    }
    let uploaded = put.send().await?;
    if !uploaded.status().is_success() {
        return Err(format!("upload answered {}", uploaded.status()).into());
    }
    let path = ticket["path"].as_str().ok_or("no path")?;
    println!("2. uploaded a room photo to {path}");

    let job = client
        .expect(
            Method::POST,
            "/generations",
            Some(json!({"mode": "redesign", "roomType": "living_room", "style": "scandinavian",
                        "prompt": "warm light, a reading corner", "input1Path": path})),
            202,
        )
        .await?;
    let job_id = job["id"].as_str().ok_or("no job id")?.to_string();
    println!("3. submitted a redesign: job {job_id}");

    let started = Instant::now();
    let job = loop {
        let job = client.expect(Method::GET, &format!("/generations/{job_id}"), None, 200).await?;
        let status = job["status"].as_str().unwrap_or("?").to_string();
        print!("\r4. waiting: {status:<10} {:>5.1} s", started.elapsed().as_secs_f32());
        std::io::stdout().flush()?;
        match status.as_str() {
            "succeeded" => break job,
            "failed" | "canceled" => return Err(format!("\njob ended {status}: {}", job["error"]).into()),
            _ if started.elapsed() > Duration::from_secs(120) => return Err("\njob did not finish in 2 minutes".into()),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    println!();
    let render_id = job["renderId"].as_str().ok_or("no render id")?;

    let favorite = client.expect(Method::POST, "/favorites/toggle", Some(json!({"renderId": render_id})), 200).await?;
    println!("5. favourited render {render_id}: isFavorite = {}", favorite["isFavorite"]);

    let renders = client.expect(Method::GET, "/renders?limit=5", None, 200).await?;
    println!("6. newest renders:");
    for item in renders["items"].as_array().into_iter().flatten() {
        println!(
            "   {} {:<9} {:<12} favourite={} {}",
            item["createdAt"].as_str().unwrap_or(""),
            item["mode"].as_str().unwrap_or(""),
            item["style"].as_str().unwrap_or("-"),
            item["isFavorite"],
            item["coverImageUrl"].as_str().unwrap_or("-")
        );
    }
    let usage = client.expect(Method::GET, "/usage", None, 200).await?;
    println!(
        "7. usage: plan {} — {} used, {} remaining this month",
        usage["plan"]["label"].as_str().unwrap_or("?"),
        usage["used"],
        usage["remaining"]
    );
    println!("8. image URLs:");
    for variant in job["variants"].as_array().into_iter().flatten() {
        let url = variant["imageUrl"].as_str().unwrap_or_default();
        let fetched = client.http.get(url).send().await?;
        println!("   {url} ({} {} bytes)", fetched.status().as_u16(), fetched.bytes().await?.len());
    }
    Ok(())
}
