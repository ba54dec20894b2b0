import { BrokerError } from '../../domain/errors';
import { percentEncode } from './sign';

/**
 * Resource-owner authorization URL (RFC 5849 §2.2): the provider's URL with `oauth_token`
 * appended to any query it already has (kept byte for byte) and `extraParams` after it.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.2
 */
export function buildAuthorizationUrl(
  authorizationUrl: string,
  requestToken: string,
  extraParams: Readonly<Record<string, string>> = {},
): string {
  let url: URL;
  try {
    url = new URL(authorizationUrl);
  } catch (error) {
    throw new BrokerError('PROVIDER_INVALID', 'authorizationUrl is not an absolute URL', { cause: error });
  }
  const added = [['oauth_token', requestToken], ...Object.entries(extraParams)]
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
  url.search = url.search ? `${url.search}&${added}` : `?${added}`;
  return url.toString();
}
