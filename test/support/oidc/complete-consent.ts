/**
 * Drives oidc-provider's devInteractions (login form, then consent form) over plain HTTP with a
 * cookie jar, the way a browser would, and returns the final redirect to the client's redirect_uri
 * (carrying `code`/`state` or `error`). Nothing is followed once the Location points at the client.
 */
export interface ConsentOptions {
  /** Account id typed into the login form (devInteractions accepts any login and password). */
  account: string;
  /** false → the user cancels at the consent screen, which yields `error=access_denied`. */
  approve: boolean;
  /** Where the provider will redirect, when the URL does not say (a PAR request_uri carries it). */
  redirectUri?: string;
}

const MAX_STEPS = 20;
/** What {@link completeDeviceConsent} returns once the device flow's final page shows. */
export const DEVICE_APPROVED = 'device:approved';
export const DEVICE_ABORTED = 'device:aborted';

/**
 * The device authorization grant's user side (RFC 8628 §3.3): open `verification_uri_complete`,
 * confirm the code, log in and consent (or abort). Resolves with DEVICE_APPROVED or DEVICE_ABORTED.
 */
export function completeDeviceConsent(verificationUriComplete: string, options: Omit<ConsentOptions, 'redirectUri'>): Promise<string> {
  return completeConsent(verificationUriComplete, { ...options, redirectUri: 'urn:test:no-redirect' });
}

export async function completeConsent(authorizationUrl: string, options: ConsentOptions): Promise<string> {
  const redirectUri = options.redirectUri ?? new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('authorization URL has no redirect_uri');
  const jar = new Map<string, string>();
  let next: { url: string; method: 'GET' | 'POST'; form?: Record<string, string> } = { url: authorizationUrl, method: 'GET' };

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const response = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: {
        ...(jar.size ? { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') } : {}),
        ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: next.form ? new URLSearchParams(next.form).toString() : undefined,
    });
    storeCookies(jar, response.headers.getSetCookie());

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const target = new URL(location, next.url).toString();
      if (isAt(target, redirectUri)) return target;
      next = { url: target, method: 'GET' };
      continue;
    }

    const html = await response.text();
    if (response.status !== 200) throw new Error(`authorization server answered ${response.status}: ${stripTags(html)}`);
    if (/<title>Sign-in Success<\/title>/.test(html)) return DEVICE_APPROVED;
    if (/<title>Sign-in Aborted<\/title>|The Sign-in request was interrupted/.test(html)) return DEVICE_ABORTED;
    const deviceConfirm = /<form id="op.deviceConfirmForm" method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
    if (deviceConfirm) {
      const hidden = Object.fromEntries([...deviceConfirm[2].matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], decodeEntities(m[2])]));
      const form = options.approve ? hidden : { xsrf: hidden.xsrf, user_code: hidden.user_code, abort: 'yes' };
      next = { url: new URL(decodeEntities(deviceConfirm[1]), next.url).toString(), method: 'POST', form };
      continue;
    }
    // A self-submitting form (the device flow's callback step): post it as the browser's script would.
    const autoSubmit = /document\.forms\[0\]\.submit\(\)/.test(html) ? /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html) : null;
    if (autoSubmit) {
      const fields = Object.fromEntries([...autoSubmit[2].matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], decodeEntities(m[2])]));
      next = { url: new URL(decodeEntities(autoSubmit[1]), next.url).toString(), method: 'POST', form: fields };
      continue;
    }
    const prompt = /name="prompt" value="(login|consent)"/.exec(html)?.[1];
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!prompt || !action) throw new Error(`unexpected page: ${stripTags(html)}`);
    const formUrl = new URL(decodeEntities(action), next.url).toString();
    if (prompt === 'consent' && !options.approve) {
      next = { url: `${formUrl.replace(/\/$/, '')}/abort`, method: 'GET' };
    } else if (prompt === 'login') {
      next = { url: formUrl, method: 'POST', form: { prompt: 'login', login: options.account, password: 'any' } };
    } else {
      next = { url: formUrl, method: 'POST', form: { prompt: 'consent' } };
    }
  }
  throw new Error('authorization did not finish within the expected number of steps');
}

function isAt(target: string, redirectUri: string): boolean {
  const a = new URL(target);
  const b = new URL(redirectUri);
  return a.origin === b.origin && a.pathname === b.pathname;
}

function storeCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const header of setCookies) {
    const [pair, ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

function decodeEntities(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&#x2F;/gi, '/').replace(/&#47;/g, '/');
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
}
