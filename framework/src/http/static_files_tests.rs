use super::*;

fn files() -> (tempfile::TempDir, StaticFiles) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(dir.path().join("app.js"), "export {}").unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir(dir.path().join("admin")).unwrap();
    std::fs::write(dir.path().join("admin/index.html"), "<h1>admin</h1>").unwrap();
    std::fs::write(dir.path().join("admin/a b.css"), "p{}").unwrap();
    let files = StaticFiles::open(dir.path()).unwrap();
    (dir, files)
}

fn header<'a>(reply: &'a StaticReply, name: &str) -> Option<&'a str> {
    reply.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

#[test]
fn paths_resolve_inside_the_root_or_are_refused() {
    assert_eq!(resolve("/"), Ok(PathBuf::new()));
    assert_eq!(resolve("/admin/"), Ok(PathBuf::from("admin")));
    assert_eq!(resolve("/admin//index.html"), Ok(PathBuf::from("admin/index.html")));
    assert_eq!(resolve("/admin/a%20b.css"), Ok(PathBuf::from("admin/a b.css")));
    for bad in [
        "/../etc/passwd",
        "/admin/../../x",
        "/%2e%2e/x",
        "/.env",
        "/a/.git/config",
        "/a%5c..%5cb",
        "/a%00b",
        "/./x",
    ] {
        assert_eq!(resolve(bad), Err(BadPath::Segment), "{bad}");
    }
    assert_eq!(resolve("/%ff"), Err(BadPath::Encoding));
}

#[test]
fn content_types_follow_the_extension() {
    assert_eq!(content_type(Path::new("a/index.html")), "text/html; charset=utf-8");
    assert_eq!(content_type(Path::new("espoir-client.js")), "text/javascript; charset=utf-8");
    assert_eq!(content_type(Path::new("x.CSS")), "text/css; charset=utf-8");
    assert_eq!(content_type(Path::new("betting.png")), "image/png");
    assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
}

#[tokio::test]
async fn files_and_directory_indexes_are_served_with_caching_headers() {
    let (_dir, files) = files();
    let reply = files.serve("GET", "/", None).await;
    assert_eq!((reply.status, &reply.body[..]), (200, &b"<h1>home</h1>"[..]));
    assert_eq!(header(&reply, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(header(&reply, "cache-control"), Some("no-cache"));
    assert_eq!(header(&reply, "x-content-type-options"), Some("nosniff"));
    let reply = files.serve("GET", "/admin", None).await;
    assert_eq!(&reply.body[..], b"<h1>admin</h1>");
    let reply = files.serve("HEAD", "/app.js", None).await;
    assert_eq!(header(&reply, "content-type"), Some("text/javascript; charset=utf-8"));

    let etag = header(&reply, "etag").unwrap().to_owned();
    let again = files.serve("GET", "/app.js", Some(&format!("\"other\", {etag}"))).await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    let changed = files.serve("GET", "/app.js", Some("W/\"stale\"")).await;
    assert_eq!(changed.status, 200);
}

#[tokio::test]
async fn missing_hidden_escaping_and_oversized_files_are_not_served() {
    let (dir, files) = files();
    assert_eq!(files.serve("GET", "/nope.html", None).await.status, 404);
    assert_eq!(files.serve("GET", "/.env", None).await.status, 404);
    assert_eq!(files.serve("GET", "/../../etc/passwd", None).await.status, 404);
    let post = files.serve("POST", "/", None).await;
    assert_eq!((post.status, header(&post, "allow")), (405, Some("GET, HEAD")));

    // A symlink leading out of the root is refused, though its name is fine.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link.txt")).unwrap();
    assert_eq!(files.serve("GET", "/link.txt", None).await.status, 404);

    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(MAX_STATIC_FILE + 1).unwrap();
    assert_eq!(files.serve("GET", "/big.bin", None).await.status, 500);
}

#[test]
fn the_root_must_be_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    assert!(StaticFiles::open(&file).is_err());
    assert!(StaticFiles::open(&dir.path().join("missing")).is_err());
}
