//! Upload attacks (DESIGN §5.4, §9): each is refused with 413/415/422 and nothing is written.

mod common;

use axum::http::{Method, StatusCode};
use common::*;

/// Sends the seed's create form with one thumbnail part and returns the reply.
async fn upload(app: &TestApp, file_name: &str, content_type: &str, bytes: &[u8]) -> Reply {
    let mut parts = seed_form("false");
    parts.push(Part::File {
        name: "thumbnail",
        file_name,
        content_type,
        bytes,
    });
    send_multipart(
        &app.router,
        Method::POST,
        "/api/admin/live-sessions",
        Some(&admin_token()),
        &parts,
    )
    .await
}

/// Nothing was stored: no file, no session.
async fn assert_nothing_written(app: &TestApp) {
    assert_eq!(
        std::fs::read_dir(app.thumbnails.path()).unwrap().count(),
        0,
        "a file was written"
    );
    let list = get(&app.router, "/api/live-sessions", None).await;
    assert_eq!(
        list.json().as_array().unwrap().len(),
        0,
        "a session was created"
    );
}

#[tokio::test]
async fn wrong_magic_bytes_are_415() {
    let app = app();
    let reply = upload(
        &app,
        "photo.png",
        "image/png",
        b"this is not an image at all",
    )
    .await;
    let problem = reply.problem(415);
    assert_eq!(problem["errors"][0]["field"], "thumbnail");
    assert_eq!(problem["errors"][0]["code"], "unsupported_type");
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn a_declared_type_that_disagrees_with_the_bytes_is_415() {
    let app = app();
    let reply = upload(&app, "photo.jpg", "image/jpeg", PNG).await;
    assert_eq!(reply.problem(415)["errors"][0]["code"], "type_mismatch");
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn svg_with_script_is_415() {
    let app = app();
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
    upload(&app, "logo.svg", "image/svg+xml", svg)
        .await
        .problem(415);
    // Declared as a PNG, the bytes still give it away.
    upload(&app, "logo.png", "image/png", svg)
        .await
        .problem(415);
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn html_polyglot_declared_as_html_is_415() {
    let app = app();
    let mut gif_html = b"GIF89a".to_vec();
    gif_html.extend_from_slice(b"<html><script>alert(1)</script></html>");
    upload(&app, "x.html", "text/html", &gif_html)
        .await
        .problem(415);
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn oversized_thumbnails_are_413() {
    let app = app();
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let reply = upload(&app, "big.png", "image/png", &big).await;
    assert_eq!(reply.problem(413)["errors"][0]["code"], "too_large");
    assert_nothing_written(&app).await;

    // Past the multipart body limit the form itself is refused.
    big.resize(7 * 1024 * 1024, 0);
    upload(&app, "bigger.png", "image/png", &big)
        .await
        .problem(413);
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn empty_files_are_422() {
    let app = app();
    let reply = upload(&app, "empty.png", "image/png", b"").await;
    assert_eq!(reply.problem(422)["errors"][0]["code"], "empty");
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn client_file_names_are_never_used() {
    let app = app();
    for name in [
        "../../../etc/cron.d/evil.png",
        "..\\..\\evil.php.png",
        "shell.php.png",
    ] {
        let reply = upload(&app, name, "image/png", PNG).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let thumbnail = reply.json()["thumbnail"].as_str().unwrap().to_owned();
        let key = thumbnail.rsplit('/').next().unwrap();
        assert!(
            !key.contains("evil") && !key.contains("php") && !key.contains(".."),
            "{key}"
        );
    }
    // Every file is a generated key directly inside the thumbnail directory.
    for entry in std::fs::read_dir(app.thumbnails.path()).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file());
        let name = entry.file_name().into_string().unwrap();
        assert!(
            name.len() == 36 && name.ends_with(".png"),
            "unexpected file {name}"
        );
    }
    assert!(!app
        .thumbnails
        .path()
        .join("../../../etc/cron.d/evil.png")
        .exists());
}

#[tokio::test]
async fn a_failed_update_keeps_the_old_thumbnail() {
    let app = app();
    let created = upload(&app, "a.png", "image/png", PNG).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let session = created.json();
    let id = session["id"].as_str().unwrap();
    let reply = send_multipart(
        &app.router,
        Method::PUT,
        &format!("/api/admin/live-sessions/{id}"),
        Some(&admin_token()),
        &[Part::File {
            name: "thumbnail",
            file_name: "b.gif",
            content_type: "image/gif",
            bytes: b"GIF87a-but-declared-as-png",
        }],
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a GIF declared as a GIF is fine: {}",
        reply.text()
    );
    let replaced = reply.json()["thumbnail"].as_str().unwrap().to_owned();
    assert!(replaced.ends_with(".gif"));
    // The old upload was removed with the replacement.
    get(&app.router, session["thumbnail"].as_str().unwrap(), None)
        .await
        .problem(404);
    let files = std::fs::read_dir(app.thumbnails.path()).unwrap().count();
    assert_eq!(files, 1);

    let refused = send_multipart(
        &app.router,
        Method::PUT,
        &format!("/api/admin/live-sessions/{id}"),
        Some(&admin_token()),
        &[Part::File {
            name: "thumbnail",
            file_name: "c.png",
            content_type: "image/png",
            bytes: b"not a png",
        }],
    )
    .await;
    refused.problem(415);
    assert_eq!(
        get(&app.router, &replaced, None).await.status,
        StatusCode::OK
    );
    assert_eq!(std::fs::read_dir(app.thumbnails.path()).unwrap().count(), 1);
}
