// A real, local OpenID Connect provider for the dashboard's single sign-on test:
// panva/node-oidc-provider (OpenID Certified), with its development sign-in pages
// (any login name, any password) and one confidential client, the dashboard.
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// The account signed in as NAME carries the claim email = NAME@demo.earpiece.example.
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    // Streamlit's st.logout sends the browser to the provider's end_session endpoint,
    // asking to come back to its redirect URI.
    post_logout_redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  claims: {openid: ["sub"], email: ["email", "email_verified"], profile: ["name"]},
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {sub: id, email: `${id}@demo.earpiece.example`, email_verified: true, name: id};
      },
    };
  },
  // The email in the ID token itself (as Google, Okta and Entra ID send it when the
  // "email" scope is asked for): Streamlit's st.user holds the ID token's claims.
  conformIdTokenClaims: false,
  features: {devInteractions: {enabled: true}},
  pkce: {required: () => false},
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => console.log(`ready ${issuer}`));
