// Calls to the admin API through the console's own proxy (same origin). The proxy signs
// them; this page never sees AWS credentials. Errors become ApiError with the RFC 9457
// problem document.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || problem.error_description || problem.error || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const HEADERS = { "X-M2M-Console": "1", Accept: "application/json, application/problem+json" };

async function send(method, path, { json, form, ifMatch } = {}) {
  const headers = { ...HEADERS };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  if (ifMatch !== undefined && ifMatch !== null) headers["If-Match"] = `"${ifMatch}"`;
  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store", redirect: "error" });
  } catch (err) {
    throw new ApiError(0, { detail: `The console server could not be reached (${err.message}). Is m2m console still running?` });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    throw new ApiError(response.status, data && typeof data === "object" ? data : { detail: text || `HTTP ${response.status}` });
  }
  return data;
}

const seg = (s) => encodeURIComponent(s);

export const api = {
  get: (path, params) => {
    const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v != null)).toString() : "";
    return send("GET", `/admin${path}${q ? "?" + q : ""}`);
  },
  post: (path, json) => send("POST", `/admin${path}`, { json }),
  put: (path, json, ifMatch) => send("PUT", `/admin${path}`, { json, ifMatch }),
  patch: (path, json, ifMatch) => send("PATCH", `/admin${path}`, { json, ifMatch }),
  del: (path, ifMatch) => send("DELETE", `/admin${path}`, { ifMatch }),
  seg,
  async all(path) {
    const items = [];
    let next = null;
    for (let i = 0; i < 50; i++) {
      const page = await api.get(path, { limit: 200, next });
      items.push(...page.items);
      next = page.next;
      if (!next) break;
    }
    return items;
  },
  token: (form) => send("POST", "/oauth/token", { form }),
  jwks: () => send("GET", "/.well-known/jwks.json"),
};
