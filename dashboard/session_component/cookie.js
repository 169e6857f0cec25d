// Has the dashboard's server set (or clear) the session cookie. The cookie is HttpOnly:
// no script, this one included, ever sees the token. This posts only a one-time handoff
// code, good for a minute, that the server trades for a session and a Set-Cookie
// (dashboard/cookie_routes.py); same-origin, so the browser keeps the cookie.
export default function (component) {
  const {data} = component;
  if (!data || !data.url) return;
  const body = data.code ? JSON.stringify({code: data.code}) : "{}";
  fetch(data.url, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json"}, body,
  }).catch(() => {});  // offline: the page stays signed in; a reload asks again
}
