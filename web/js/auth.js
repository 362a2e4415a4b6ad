// Sign-up and sign-in against the Cognito user pool through its JSON API (the same calls the
// AWS SDKs make; locally, moto's Cognito). Tokens live in sessionStorage: they end with the tab.

const TOKENS = "vsent.tokens";
// Refresh this long before the ID token expires, so no request carries a token about to lapse.
const REFRESH_MARGIN_MS = 60_000;

export class AuthError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function cognito(config, action, body) {
  const response = await fetch(config.cognito.endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const code = String(data.__type || data.code || "Error").split("#").pop();
    throw new AuthError(code, data.message || data.Message || `${action} failed (HTTP ${response.status})`);
  }
  return data;
}

function store(result, username) {
  const previous = current();
  const tokens = {
    username,
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken || previous?.refreshToken,
    expiresAt: Date.now() + (result.ExpiresIn || 3600) * 1000,
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  return tokens;
}

/** The stored tokens, or null when signed out. */
export function current() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS));
  } catch {
    return null;
  }
}

/** The claims of a JWT (not verified here: the API verifies every token it receives). */
export function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(
    Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
  );
  return JSON.parse(json);
}

/** Register a user; Cognito then sends a confirmation code to the email address. */
export async function signUp(config, email, password) {
  return cognito(config, "SignUp", {
    ClientId: config.cognito.clientId,
    Username: email,
    Password: password,
    UserAttributes: [{ Name: "email", Value: email }],
  });
}

/** Confirm a registration with the emailed code. */
export async function confirmSignUp(config, email, code) {
  return cognito(config, "ConfirmSignUp", {
    ClientId: config.cognito.clientId,
    Username: email,
    ConfirmationCode: code,
  });
}

/** Sign in with email and password; stores and returns the tokens. */
export async function signIn(config, email, password) {
  const data = await cognito(config, "InitiateAuth", {
    ClientId: config.cognito.clientId,
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!data.AuthenticationResult) {
    throw new AuthError(data.ChallengeName || "Challenge", `sign-in needs a step this page does not offer: ${data.ChallengeName}`);
  }
  return store(data.AuthenticationResult, email);
}

/** A valid ID token, refreshed first when it is about to expire; null when signed out. */
export async function idToken(config) {
  const tokens = current();
  if (!tokens) return null;
  if (tokens.expiresAt - Date.now() > REFRESH_MARGIN_MS) return tokens.idToken;
  if (!tokens.refreshToken) {
    signOut();
    return null;
  }
  try {
    const data = await cognito(config, "InitiateAuth", {
      ClientId: config.cognito.clientId,
      AuthFlow: "REFRESH_TOKEN_AUTH",
      AuthParameters: { REFRESH_TOKEN: tokens.refreshToken },
    });
    return store(data.AuthenticationResult, tokens.username).idToken;
  } catch {
    signOut();
    return null;
  }
}

/** Forget the tokens. */
export function signOut() {
  sessionStorage.removeItem(TOKENS);
}
