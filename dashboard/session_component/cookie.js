// Keeps the dashboard's session token in a cookie (never in the page's URL), so a reload
// stays signed in. The token is opaque: the session itself lives server-side in Redis,
// where sign-out ends it. SameSite=Strict: no other site's page sends it along.
export default function (component) {
  const {data} = component;
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  if (data.clear) {
    document.cookie = `${data.name}=; Path=/; Max-Age=0; SameSite=Strict${secure}`;
  } else if (data.token) {
    document.cookie =
      `${data.name}=${encodeURIComponent(data.token)}; Path=/; Max-Age=${data.max_age}; SameSite=Strict${secure}`;
  }
}
