//! Downloading prediction outputs under the output policy: allowlisted hosts
//! only, https unless allowed, no redirects, a size cap while streaming, JPEG
//! bytes only (SECURITY.md item 16).

use shared::replicate::{OutputError, OutputPolicy, ReplicateClient};

use super::mock_server::{Canned, MockServer};
use super::{client_for, config_for, local_policy};

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, 0x42);
    bytes
}

#[tokio::test]
async fn jpeg_from_an_allowed_http_host_is_downloaded_without_the_token() {
    let image = jpeg(20_000);
    let server = MockServer::start([Canned::new(200, image.clone()).header("content-type", "image/jpeg")]).await;
    let url = format!("{}/pbxt/abc/out-0.jpg?sig=1", server.base_url());
    let downloaded = client_for(&server).download_output(&url).await.unwrap();
    assert_eq!(downloaded, image);
    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/pbxt/abc/out-0.jpg?sig=1"));
    assert_eq!(request.header("authorization"), None);
}

#[tokio::test]
async fn host_not_in_the_allowlist_is_refused_without_a_request() {
    let server = MockServer::start([Canned::new(200, jpeg(100))]).await;
    let client = client_for(&server);
    for url in [
        format!("http://localhost:{}/x.jpg", server.port()),
        "http://127.0.0.1:1/x.jpg".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
    ] {
        let result = client.download_output(&url).await;
        assert!(matches!(result, Err(OutputError::DisallowedUrl(_))), "{url}: {result:?}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let server = MockServer::start([Canned::new(200, jpeg(100))]).await;
    let strict = OutputPolicy { allow_http: false, ..local_policy(&server, 1024) };
    let client = ReplicateClient::new(config_for(&server, strict));
    let result = client.download_output(&format!("{}/x.jpg", server.base_url())).await;
    assert!(matches!(result, Err(OutputError::DisallowedUrl(_))), "{result:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn redirect_is_refused_and_not_followed() {
    let server = MockServer::start([]).await;
    let redirect = Canned::new(302, "").header("location", &format!("{}/elsewhere.jpg", server.base_url()));
    let server_with_redirect = MockServer::start([redirect]).await;
    let client = client_for(&server_with_redirect);
    let result = client.download_output(&format!("{}/out.jpg", server_with_redirect.base_url())).await;
    assert!(matches!(result, Err(OutputError::Redirected)), "{result:?}");
    assert_eq!(server_with_redirect.requests().len(), 1);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn declared_oversize_is_refused() {
    let server = MockServer::start([Canned::new(200, jpeg(4096))]).await;
    let client = ReplicateClient::new(config_for(&server, local_policy(&server, 1024)));
    let result = client.download_output(&format!("{}/big.jpg", server.base_url())).await;
    assert!(matches!(result, Err(OutputError::TooLarge)), "{result:?}");
}

#[tokio::test]
async fn streamed_oversize_is_aborted() {
    let server = MockServer::start([Canned::new(200, jpeg(256 * 1024)).without_content_length()]).await;
    let client = ReplicateClient::new(config_for(&server, local_policy(&server, 16 * 1024)));
    let result = client.download_output(&format!("{}/big.jpg", server.base_url())).await;
    assert!(matches!(result, Err(OutputError::TooLarge)), "{result:?}");
}

#[tokio::test]
async fn exactly_the_cap_is_accepted() {
    let server = MockServer::start([Canned::new(200, jpeg(1024)).without_content_length()]).await;
    let client = ReplicateClient::new(config_for(&server, local_policy(&server, 1024)));
    let downloaded = client.download_output(&format!("{}/edge.jpg", server.base_url())).await.unwrap();
    assert_eq!(downloaded.len(), 1024);
}

#[tokio::test]
async fn non_jpeg_bytes_are_refused() {
    let png = b"\x89PNG\r\n\x1a\n rest of a png".to_vec();
    let server =
        MockServer::start([Canned::new(200, png), Canned::new(200, ""), Canned::new(200, vec![0xFF, 0xD8])]).await;
    let client = client_for(&server);
    for _ in 0..3 {
        let result = client.download_output(&format!("{}/out.jpg", server.base_url())).await;
        assert!(matches!(result, Err(OutputError::NotJpeg)), "{result:?}");
    }
}

#[tokio::test]
async fn error_status_is_reported() {
    let server = MockServer::start([Canned::new(404, "gone")]).await;
    let result = client_for(&server).download_output(&format!("{}/out.jpg", server.base_url())).await;
    assert!(matches!(result, Err(OutputError::Http(404))), "{result:?}");
}
