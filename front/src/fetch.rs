//! One bounded JSON GET, shared by the two things the front fetches from elsewhere (trusted
//! issuers' keys, client metadata documents): the status checked, the body capped while it
//! streams in, the JSON parsed. Callers choose the client (redirects, resolver, roots).

use serde_json::Value;
use url::Url;

pub async fn get_json(http: &reqwest::Client, url: Url, max: usize) -> Result<Value, String> {
    let mut res = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("HTTP {}", res.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(format!("larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))
}
