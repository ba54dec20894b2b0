import type { CatalogueEntry } from './definition-fields';

/**
 * Curated catalogue data, merged field-wise over grant's entry of the same name (an entry with a
 * different protocol replaces grant's). Only facts from the providers' own documentation; a field
 * left out keeps grant's value or the broker's default. Quirks are fields here, never code.
 */
export const CURATED_PROVIDERS: Readonly<Record<string, CatalogueEntry>> = {
  github: {
    protocol: 'oauth2',
    displayName: 'GitHub',
    apiBaseUrl: 'https://api.github.com',
    scopeSeparator: ' ',
    // GitHub revokes through its REST API (DELETE /applications/{client_id}/grant), not RFC 7009.
  },
  google: {
    protocol: 'oauth2',
    displayName: 'Google',
    authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    revocationUrl: 'https://oauth2.googleapis.com/revoke',
    apiBaseUrl: 'https://www.googleapis.com',
    defaultScopes: ['openid', 'email', 'profile'],
    scopeSeparator: ' ',
    // Google issues a refresh token only for offline access, and again only on renewed consent.
    authorizationParams: { access_type: 'offline', prompt: 'consent' },
  },
  microsoft: {
    protocol: 'oauth2',
    displayName: 'Microsoft Entra ID',
    authorizationUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    apiBaseUrl: 'https://graph.microsoft.com',
    // offline_access is what makes the identity platform return a refresh token.
    defaultScopes: ['openid', 'profile', 'offline_access', 'User.Read'],
    scopeSeparator: ' ',
  },
  slack: {
    protocol: 'oauth2',
    displayName: 'Slack',
    authorizationUrl: 'https://slack.com/oauth/v2/authorize',
    tokenUrl: 'https://slack.com/api/oauth.v2.access',
    apiBaseUrl: 'https://slack.com/api',
    scopeSeparator: ',',
  },
  dropbox: {
    protocol: 'oauth2',
    displayName: 'Dropbox',
    apiBaseUrl: 'https://api.dropboxapi.com',
    proxyHeaders: ['dropbox-api-arg', 'dropbox-api-path-root', 'dropbox-api-select-user', 'dropbox-api-select-admin'],
    scopeSeparator: ' ',
    // Without token_access_type=offline Dropbox returns only a short-lived access token.
    authorizationParams: { token_access_type: 'offline' },
  },
  salesforce: {
    protocol: 'oauth2',
    displayName: 'Salesforce',
    revocationUrl: 'https://login.salesforce.com/services/oauth2/revoke',
    defaultScopes: ['api', 'refresh_token'],
    scopeSeparator: ' ',
    // Token responses carry no expires_in; the org's session timeout (2 hours by default) applies.
    // apiBaseUrl is per org (instance_url in the token response), so it has to be configured.
    expiresInFallbackSeconds: 7200,
  },
  xero: {
    // grant still lists Xero's retired OAuth 1.0a endpoints; Xero now speaks OAuth 2.0.
    protocol: 'oauth2',
    displayName: 'Xero',
    authorizationUrl: 'https://login.xero.com/identity/connect/authorize',
    tokenUrl: 'https://identity.xero.com/connect/token',
    revocationUrl: 'https://identity.xero.com/connect/revocation',
    apiBaseUrl: 'https://api.xero.com',
    defaultScopes: ['openid', 'profile', 'email', 'offline_access'],
    scopeSeparator: ' ',
    clientAuthMethod: 'client_secret_basic',
  },
  x: {
    protocol: 'oauth2',
    displayName: 'X',
    authorizationUrl: 'https://x.com/i/oauth2/authorize',
    tokenUrl: 'https://api.x.com/2/oauth2/token',
    revocationUrl: 'https://api.x.com/2/oauth2/revoke',
    apiBaseUrl: 'https://api.x.com',
    // offline.access is what makes X return a refresh token.
    defaultScopes: ['tweet.read', 'users.read', 'offline.access'],
    scopeSeparator: ' ',
    pkce: true,
    clientAuthMethod: 'client_secret_basic',
  },
  twitter: {
    protocol: 'oauth1',
    displayName: 'Twitter (OAuth 1.0a)',
    requestTokenUrl: 'https://api.twitter.com/oauth/request_token',
    // oauth/authorize always asks the user; grant's oauth/authenticate is "Sign in with Twitter".
    authorizationUrl: 'https://api.twitter.com/oauth/authorize',
    accessTokenUrl: 'https://api.twitter.com/oauth/access_token',
    apiBaseUrl: 'https://api.twitter.com',
    signatureMethod: 'HMAC-SHA1',
    parameterPlacement: 'header',
  },
  garmin: {
    protocol: 'oauth1',
    displayName: 'Garmin Connect (OAuth 1.0a)',
    apiBaseUrl: 'https://apis.garmin.com',
    // Garmin's Connect Developer Program retires OAuth 1.0a at the end of 2026 for OAuth 2.0 with PKCE:
    // "OAuth 1 will be retired on 12/31/2026" (Garmin's partner notice, quoted in
    // github.com/marazt/garmin-connect-client/issues/11 and stoufa06/php-garmin-connect-api/issues/23;
    // no public page of Garmin's found that states it).
    deprecatedAfter: '2026-12-31',
    successor: 'garmin-oauth2',
  },
  // Endpoints as in Nango's catalogue (NangoHQ/nango packages/providers/providers.yaml, `garmin-oauth2`);
  // Garmin's own OAuth2PKCE specification was not found in public.
  'garmin-oauth2': {
    protocol: 'oauth2',
    displayName: 'Garmin Connect',
    authorizationUrl: 'https://connect.garmin.com/oauth2Confirm',
    tokenUrl: 'https://diauth.garmin.com/di-oauth2-service/oauth/token',
    apiBaseUrl: 'https://apis.garmin.com',
    pkce: true,
    clientAuthMethod: 'client_secret_post',
  },
  trello: {
    protocol: 'oauth1',
    displayName: 'Trello',
    apiBaseUrl: 'https://api.trello.com/1',
    signatureMethod: 'HMAC-SHA1',
    parameterPlacement: 'header',
    // OAuth 1.0a tokens cannot be refreshed; Trello's default expiry is 30 days.
    authorizationParams: { scope: 'read', expiration: 'never' },
  },
  gitlab: {
    protocol: 'oauth2',
    displayName: 'GitLab',
    revocationUrl: 'https://gitlab.com/oauth/revoke',
    apiBaseUrl: 'https://gitlab.com/api/v4',
    defaultScopes: ['read_user'],
  },
  bitbucket: {
    protocol: 'oauth2',
    displayName: 'Bitbucket',
    apiBaseUrl: 'https://api.bitbucket.org/2.0',
    clientAuthMethod: 'client_secret_basic',
  },
  atlassian: {
    protocol: 'oauth2',
    displayName: 'Atlassian',
    apiBaseUrl: 'https://api.atlassian.com',
    defaultScopes: ['offline_access', 'read:me'],
    authorizationParams: { audience: 'api.atlassian.com', prompt: 'consent' },
  },
  discord: {
    protocol: 'oauth2',
    displayName: 'Discord',
    revocationUrl: 'https://discord.com/api/oauth2/token/revoke',
    apiBaseUrl: 'https://discord.com/api',
    defaultScopes: ['identify'],
  },
  spotify: {
    protocol: 'oauth2',
    displayName: 'Spotify',
    apiBaseUrl: 'https://api.spotify.com/v1',
    clientAuthMethod: 'client_secret_basic',
  },
  linkedin: {
    protocol: 'oauth2',
    displayName: 'LinkedIn',
    revocationUrl: 'https://www.linkedin.com/oauth/v2/revoke',
    apiBaseUrl: 'https://api.linkedin.com',
    proxyHeaders: ['linkedin-version'],
    defaultScopes: ['openid', 'profile', 'email'],
  },
  zoom: {
    protocol: 'oauth2',
    displayName: 'Zoom',
    revocationUrl: 'https://zoom.us/oauth/revoke',
    apiBaseUrl: 'https://api.zoom.us/v2',
    clientAuthMethod: 'client_secret_basic',
  },
  hubspot: {
    protocol: 'oauth2',
    displayName: 'HubSpot',
    authorizationUrl: 'https://app.hubspot.com/oauth/authorize',
    tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
    apiBaseUrl: 'https://api.hubapi.com',
    defaultScopes: ['oauth'],
    scopeSeparator: ' ',
    clientAuthMethod: 'client_secret_post',
  },
  asana: {
    protocol: 'oauth2',
    displayName: 'Asana',
    revocationUrl: 'https://app.asana.com/-/oauth_revoke',
    apiBaseUrl: 'https://app.asana.com/api/1.0',
  },
  notion: {
    protocol: 'oauth2',
    displayName: 'Notion',
    apiBaseUrl: 'https://api.notion.com/v1',
    proxyHeaders: ['notion-version'],
    clientAuthMethod: 'client_secret_basic',
    authorizationParams: { owner: 'user' },
  },
  box: {
    protocol: 'oauth2',
    displayName: 'Box',
    authorizationUrl: 'https://account.box.com/api/oauth2/authorize',
    revocationUrl: 'https://api.box.com/oauth2/revoke',
    apiBaseUrl: 'https://api.box.com/2.0',
  },
  figma: {
    protocol: 'oauth2',
    displayName: 'Figma',
    apiBaseUrl: 'https://api.figma.com/v1',
  },
  twitch: {
    protocol: 'oauth2',
    displayName: 'Twitch',
    revocationUrl: 'https://id.twitch.tv/oauth2/revoke',
    apiBaseUrl: 'https://api.twitch.tv/helix',
  },
  reddit: {
    protocol: 'oauth2',
    displayName: 'Reddit',
    authorizationUrl: 'https://www.reddit.com/api/v1/authorize',
    tokenUrl: 'https://www.reddit.com/api/v1/access_token',
    revocationUrl: 'https://www.reddit.com/api/v1/revoke_token',
    apiBaseUrl: 'https://oauth.reddit.com',
    clientAuthMethod: 'client_secret_basic',
    // Reddit issues a refresh token only for permanent grants.
    authorizationParams: { duration: 'permanent' },
  },
  strava: {
    protocol: 'oauth2',
    displayName: 'Strava',
    apiBaseUrl: 'https://www.strava.com/api/v3',
    defaultScopes: ['read'],
    scopeSeparator: ',',
  },
  intuit: {
    protocol: 'oauth2',
    displayName: 'Intuit QuickBooks',
    revocationUrl: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke',
    apiBaseUrl: 'https://quickbooks.api.intuit.com',
    defaultScopes: ['com.intuit.quickbooks.accounting'],
    clientAuthMethod: 'client_secret_basic',
  },
  shopify: {
    protocol: 'oauth2',
    displayName: 'Shopify',
    apiBaseUrl: 'https://{subdomain}.myshopify.com/admin/api',
    scopeSeparator: ',',
    // Offline (default) Shopify access tokens do not expire and come without a refresh token.
    refreshable: false,
  },
  facebook: {
    protocol: 'oauth2',
    displayName: 'Facebook',
    apiBaseUrl: 'https://graph.facebook.com',
    // Facebook has no refresh tokens; long-lived tokens are obtained by a separate exchange.
    refreshable: false,
  },
  okta: {
    protocol: 'oauth2',
    displayName: 'Okta',
    revocationUrl: 'https://{subdomain}.okta.com/oauth2/v1/revoke',
    apiBaseUrl: 'https://{subdomain}.okta.com',
    defaultScopes: ['openid', 'profile', 'offline_access'],
    clientAuthMethod: 'client_secret_basic',
  },
  unsplash: {
    protocol: 'oauth2',
    displayName: 'Unsplash',
    apiBaseUrl: 'https://api.unsplash.com',
    // Unsplash documents `scope=public+read_user`: "+" is a space once the query is decoded. grant's
    // "+" separator would be sent encoded (%2B) and read as one unknown scope.
    scopeSeparator: ' ',
  },
};
