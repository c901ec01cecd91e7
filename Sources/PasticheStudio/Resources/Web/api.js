// Fetch helpers for the HTTP API (docs/studio.md): errors become thrown Errors with the server's message.

export async function api(method, path, body, headers = {}) {
  const options = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      options.body = body;
      options.headers["Content-Type"] = options.headers["Content-Type"] || "application/octet-stream";
    } else {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

export const json = async (method, path, body) => (await api(method, path, body)).json();
export const styleURL = (name) => `/api/styles/${encodeURIComponent(name)}`;
