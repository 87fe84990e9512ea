// The JSON API, read-only. Every call is a GET to /api/...

export class ApiError extends Error {}

/** GET /api/<path> with query parameters; returns the parsed JSON or throws ApiError. */
export async function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    query.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  const url = `/api/${path}${query.size ? `?${query}` : ""}`;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.error || `${response.status} ${response.statusText}`);
  return body;
}
