#[tokio::test]
async fn smoke() {
    let app = testkit::TestApp::spawn().await;
    let u = app.create_user().await;
    app.seed_render(&u, 2).await;
}
