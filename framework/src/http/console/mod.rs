//! The operations console: a page served on the admin HTTP port that
//! shows the node, its cluster and its live metrics, and reloads, drains
//! and kicks (`docs/operations.md`, "Operations console").
//!
//! | path | method | auth | answers |
//! |---|---|---|---|
//! | `/console`, `/console/console.js`, `/console/console.css` | GET | open | the page (no data in it) |
//! | `/console/api/snapshot` | GET | token | the node, its links and members, totals, reloads |
//!
//! The page holds no secret: it asks the operator for `http.token`, keeps
//! it in the tab's `sessionStorage` and sends it as `Authorization: Bearer`
//! on its own requests (the snapshot, and the admin endpoints for its
//! actions), so the token never appears in a URL or a log. Its files are
//! compiled into the binary: no CDN, nothing to install.
//!
//! * `assets`: the page's files (`assets/`), embedded.
//! * `snapshot`: `GET /console/api/snapshot`.

mod assets;
mod snapshot;

use std::sync::Arc;

use super::server::HttpRoutes;
use crate::node::NodeState;

/// The console's routes on the admin port of `shared`.
pub(crate) fn routes(shared: &Arc<NodeState>) -> HttpRoutes {
    assets::routes().merge(snapshot::routes(shared))
}
