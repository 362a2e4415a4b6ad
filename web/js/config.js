// The page's settings, from config.json beside it: written by the stack (on AWS by the
// SitePublisher custom resource, locally by `vsent up`), never baked into the code.

let loaded = null;

/** The settings: apiUrl, cognito {endpoint, userPoolId, clientId}, limits, local. */
export async function loadConfig() {
  if (loaded) return loaded;
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`config.json could not be read (HTTP ${response.status})`);
  }
  const config = await response.json();
  for (const name of ["apiUrl", "cognito", "limits"]) {
    if (!config[name]) throw new Error(`config.json has no ${name}`);
  }
  config.apiUrl = config.apiUrl.replace(/\/+$/, "");
  loaded = config;
  return config;
}
