//! Images done properly, end to end over HTTP: phone photos are cleaned
//! before Replicate reads them, bad files are refused before anything
//! starts, every render gets exactly one set of WebP thumbnails (old ones
//! from the sweeper's backfill), and the owner sees before and after.

mod support;

use replicate_sim::{Behaviour, WebhookMode};
use serde_json::{json, Value};
use shared::images::{inspect, Layout};
use shared::storage::{ImageType, PRIVATE_BUCKET, PUBLIC_BUCKET};
use support::{render_of, Api};
use testkit::photos::{self, is_upright_picture, phone_photo, GPS_LATITUDE_BYTES};
use testkit::TestUser;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

async fn stored_input(api: &Api, path: &str) -> Vec<u8> {
    let key = path.strip_prefix("private/").unwrap();
    api.stack.services.storage.get(PRIVATE_BUCKET, key).await.unwrap().expect("the input is stored")
}

async fn download(api: &Api, url: &str) -> (u16, String, Vec<u8>) {
    let response = api.http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, content_type, response.bytes().await.unwrap().to_vec())
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("an image");
    (image.width(), image.height())
}

#[tokio::test]
async fn a_phone_photo_is_turned_and_stripped_before_replicate_reads_it() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    for (image_type, orientation) in [(ImageType::Jpeg, 6), (ImageType::Png, 8), (ImageType::Webp, 3)] {
        let photo = phone_photo(image_type, orientation);
        let path = api.upload_file(&user, photo, image_type.content_type()).await;
        let (status, body) = api.submit_redesign(&user, &path).await;
        assert_eq!(status, 202, "{body}");
        let job_id = body["data"]["id"].as_str().unwrap().to_string();

        // What storage keeps under the upload's path is the clean photo.
        let clean = stored_input(&api, &path).await;
        let what = format!("{image_type:?} orientation {orientation}");
        assert_eq!(inspect(&clean, image_type), Ok(Layout { metadata: false, trailing: false }), "{what}");
        assert!(!contains(&clean, &GPS_LATITUDE_BYTES), "{what}: no GPS position stays in storage");
        let upright = image::load_from_memory(&clean).unwrap().to_rgb8();
        is_upright_picture(&upright, 40).unwrap_or_else(|problem| panic!("{what}: {problem}"));

        // Replicate read the upright photo: the simulated model's output
        // keeps its input's proportions.
        let job = api.wait_for(&user, &job_id, "succeeded").await;
        let (_, _, output) = download(&api, job["variants"][0]["imageUrl"].as_str().unwrap()).await;
        assert_eq!(dimensions(&output), photos::UPRIGHT, "{what}");
    }
}

/// Each refused photo: the answer, and nothing started, charged or kept
/// in flight.
#[tokio::test]
async fn bad_images_are_refused_before_anything_is_charged_or_started() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08meta".to_vec();
    let png = testkit::stack::test_png(40, 30);
    let full = phone_photo(ImageType::Jpeg, 1);
    let truncated = full[..full.len() * 2 / 3].to_vec();
    let mut bomb = testkit::stack::test_jpeg(64, 48);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // 60000 x 60000
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("HEIC sent as JPEG", heic, "UNSUPPORTED_IMAGE_TYPE"),
        ("a PNG behind a .jpg path", png, "INVALID_IMAGE"),
        ("a JPEG cut short", truncated, "INVALID_IMAGE"),
        ("a decompression bomb", bomb, "IMAGE_TOO_LARGE"),
    ];
    for (what, bytes, code) in cases {
        let path = api.upload_file(&user, bytes, "image/jpeg").await;
        let (status, body) = api.submit_redesign(&user, &path).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert_eq!(body["error"]["details"]["field"], "input1Path", "{what}");
        if code == "UNSUPPORTED_IMAGE_TYPE" {
            assert!(body["error"]["message"].as_str().unwrap().contains("send a JPEG"), "{body}");
        }
        assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", user.id)).await, 0, "{what}");
    }
    assert!(api.stack.sim.predictions().is_empty(), "no prediction was created");
    assert_eq!(api.count("public.usage_ledger").await, 0);
    // The refused submits held nothing: a good photo goes through.
    let good = api.upload(&user).await;
    let (status, body) = api.submit_redesign(&user, &good).await;
    assert_eq!(status, 202, "{body}");

    // HEIC is refused with the same words when the upload is asked for.
    let (status, body) =
        api.call("POST", "/uploads", Some(&user), Some(json!({"contentType": "image/heic", "sizeBytes": 1000}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("send a JPEG"), "{body}");
}

fn keys_of_render(api: &Api, job_id: &str) -> Vec<String> {
    let prefix = format!("renders/{}/", render_of(job_id));
    let mut keys: Vec<String> = api
        .stack
        .s3()
        .object_keys(PUBLIC_BUCKET)
        .into_iter()
        .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

async fn check_thumbnail(api: &Api, url: &str) {
    let (status, content_type, bytes) = download(api, url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(content_type, "image/webp");
    assert_eq!(ImageType::sniff(&bytes), Some(ImageType::Webp));
    let (w, h) = dimensions(&bytes);
    assert!(w.max(h) <= shared::images::THUMB_LONG_EDGE, "{w}x{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_webhook_leaves_exactly_one_set_of_thumbnails() {
    // Its own S3 server, so the test can list what the render left there.
    let api = Api::start_with(testkit::S3Choice::Dedicated).await;
    let behaviour =
        Behaviour { outputs: 2, ..Behaviour::webhook(WebhookMode::Duplicate { count: 5, concurrent: true }) };
    api.stack.sim.set_behaviour(behaviour, Some(1));
    let user = api.stack.create_user().await;
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["data"]["id"].as_str().unwrap().to_string();
    let job = api.wait_for(&user, &job_id, "succeeded").await;
    let prediction = api.prediction_id(&job_id).await;
    for new_id in [false, true] {
        api.stack.sim.redeliver(&prediction, new_id).await.expect("redelivered");
    }
    // Every copy answered (5 at once, then 2 replays), so none is still storing.
    support::eventually(10, "the copies settle", || async {
        let answered = api
            .stack
            .sim
            .deliveries()
            .iter()
            .filter(|d| d.prediction_id == prediction && d.status_code.is_some())
            .count();
        answered >= 7
    })
    .await;
    assert_eq!(keys_of_render(&api, &job_id), ["0.jpg", "0_thumb.webp", "1.jpg", "1_thumb.webp"]);
    assert_eq!(api.job_effects(&job_id).await.0, 1, "one render");

    let variants = job["variants"].as_array().unwrap();
    for variant in variants {
        check_thumbnail(&api, variant["thumbUrl"].as_str().unwrap()).await;
    }
    // The gallery card, the render's page and My Favorites carry the cover's thumbnail.
    let render_id = render_of(&job_id);
    let cover_thumb = variants[0]["thumbUrl"].clone();
    let (_, page) = api.call("GET", "/renders", Some(&user), None).await;
    assert_eq!(page["data"]["items"][0]["coverThumbUrl"], cover_thumb);
    let (_, detail) = api.call("GET", &format!("/renders/{render_id}"), Some(&user), None).await;
    assert_eq!(detail["data"]["coverThumbUrl"], cover_thumb);
    assert_eq!(detail["data"]["variants"][1]["thumbUrl"], variants[1]["thumbUrl"]);
    let (status, _) = api.call("POST", "/favorites/toggle", Some(&user), Some(json!({"renderId": render_id}))).await;
    assert_eq!(status, 200);
    let (_, collections) = api.call("GET", "/collections", Some(&user), None).await;
    assert_eq!(collections["data"]["items"][0]["coverThumbUrl"], cover_thumb);

    // Deleting the render deletes its thumbnails with its images.
    let (status, body) = api.call("DELETE", &format!("/renders/{render_id}"), Some(&user), None).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    assert_eq!(keys_of_render(&api, &job_id), Vec::<String>::new());
}

/// Renders from before thumbnails: the sweeper makes theirs, a bounded
/// number per run, and an unreadable image stands in as its own.
#[tokio::test]
async fn old_renders_get_thumbnails_from_the_sweeper_a_few_per_run() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let batch = shared::flows::thumbnails::BACKFILL_BATCH as usize;
    let mut renders = Vec::new();
    for n in 0..batch + 3 {
        let (_, render_id) = api.stack.app.seed_render(&user, 1).await;
        let image = if n == 0 { b"\xFF\xD8\xFF\xE0 broken".to_vec() } else { testkit::stack::test_jpeg(800, 600) };
        let key = format!("renders/{render_id}/0.jpg");
        api.stack.services.storage.put(PUBLIC_BUCKET, &key, image, "image/jpeg").await.unwrap();
        renders.push(render_id);
    }
    let (_, page) = api.call("GET", "/renders?limit=50", Some(&user), None).await;
    assert!(page["data"]["items"].as_array().unwrap().iter().all(|item| item["coverThumbUrl"].is_null()));

    let first = shared::flows::sweep::sweep(&api.stack.services).await.unwrap().thumbnails;
    assert_eq!(first.made + first.stood_in, batch, "{first:?}");
    let second = shared::flows::sweep::sweep(&api.stack.services).await.unwrap().thumbnails;
    assert_eq!(second.made + second.stood_in, 3, "{second:?}");
    assert_eq!(first.stood_in + second.stood_in, 1, "the broken image stands in for itself");
    assert_eq!(first.errors + second.errors, 0);
    let third = shared::flows::sweep::sweep(&api.stack.services).await.unwrap().thumbnails;
    assert_eq!(third, Default::default(), "nothing left");

    let (_, page) = api.call("GET", "/renders?limit=50", Some(&user), None).await;
    let items = page["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), batch + 3);
    for item in items {
        let id = item["id"].as_str().unwrap();
        let thumb = item["coverThumbUrl"].as_str().unwrap_or_else(|| panic!("{id} has no thumbnail: {item}"));
        if id == renders[0].to_string() {
            assert_eq!(thumb, item["coverImageUrl"].as_str().unwrap(), "the unreadable image is its own thumbnail");
        } else {
            assert!(thumb.ends_with(&format!("renders/{id}/0_thumb.webp")), "{thumb}");
            check_thumbnail(&api, thumb).await;
        }
    }
}

async fn render_page(api: &Api, user: &TestUser, render_id: &str) -> (u16, Value) {
    api.call("GET", &format!("/renders/{render_id}"), Some(user), None).await
}

#[tokio::test]
async fn the_owner_sees_before_and_after_and_nobody_else_does() {
    let api = Api::start().await;
    let owner = api.stack.create_user().await;
    let stranger = api.stack.create_user().await;
    let path = api.upload_file(&owner, phone_photo(ImageType::Jpeg, 6), "image/jpeg").await;
    let (status, body) = api.submit_redesign(&owner, &path).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["data"]["id"].as_str().unwrap().to_string();
    let job = api.wait_for(&owner, &job_id, "succeeded").await;
    let clean = stored_input(&api, &path).await;

    let inputs = job["inputs"].as_array().expect("the job answer lists its inputs");
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["index"], 0);
    let (status, _, before) = download(&api, inputs[0]["url"].as_str().unwrap()).await;
    assert_eq!((status, before == clean), (200, true), "the URL serves the clean photo");
    let expires = chrono::DateTime::parse_from_rfc3339(inputs[0]["expiresAt"].as_str().unwrap()).unwrap();
    let left = expires.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!((9 * 60..=15 * 60).contains(&left), "short-lived: {left} s left");

    // The render's page: the same photo beside the outputs, and the same
    // URL on the next look (the browser keeps it cached).
    let render_id = render_of(&job_id).to_string();
    let (status, detail) = render_page(&api, &owner, &render_id).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["data"]["inputs"][0]["url"], inputs[0]["url"]);
    let (_, again) = api.call("GET", &format!("/generations/{job_id}"), Some(&owner), None).await;
    assert_eq!(again["data"]["inputs"], job["inputs"]);

    // Anyone else learns nothing.
    let (status, body) = render_page(&api, &stranger, &render_id).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api.call("GET", &format!("/generations/{job_id}"), Some(&stranger), None).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("inputs/"), "{body}");

    // Imagine mode has no "before".
    let (_, imagined) = api.submit_imagine(&owner).await;
    let imagined_id = imagined["data"]["id"].as_str().unwrap().to_string();
    let job = api.wait_for(&owner, &imagined_id, "succeeded").await;
    assert_eq!(job["inputs"], json!([]));
}
